"""The window's unattended intake as plain job functions for ``workers.Job`` (no Qt in here).

``run_intake`` is the window's ``meddiag listen`` + ``meddiag watch``: one long job that loads its
own predictors, builds the intake engine (``core.intake.assembly.build_engine``) and drives its
``run`` generator. The DICOM node and the folder watcher are started and stopped *inside* the job,
on commands the window sends through an :class:`IntakeControl` (they reach the job through the
engine's own queue, so the job sees them within ~0.1 s even when idle); their threads only store
and hand over, as in core. Everything the window learns arrives as yielded records:

* :class:`InboxBatch` - the items analysed in one engine batch (a whole batch per event, never one
  event per row), their headers (modality, accession number, study time) read here, in the worker;
* :class:`IntakeStatus` - after every batch, command and status request.

The window runs it in a child process (``run_intake_in_child``, over ``core.child_job``): these
records and the commands pickle; the job there has its own ``IntakeControl``, fed from the window's.

Patient name / ID are read only while ``IntakeControl.show_identity`` is set, are kept out of every
``repr`` and are never written anywhere: they exist only in these records (pickled through the
child's pipe, in memory) and the inbox widget.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .loading import predictors_for_job

RESULTS_CSV = "results.csv"
HEADER_TAGS = ("Modality", "AccessionNumber", "StudyDate", "StudyTime")
IDENTITY_TAGS = ("PatientName", "PatientID")


# ----------------------------------------------------------------------------- commands
@dataclass(frozen=True)
class StartNode:
    """Listen as ``ae_title`` on ``bind:port``; ``allow``: ``AET`` / ``AET@HOST`` texts (empty: any)."""

    ae_title: str = "MEDDIAG"
    port: int = 11112
    bind: str = "127.0.0.1"
    allow: tuple[str, ...] = ()
    min_free_mb: int = 1024
    max_associations: int = 4


@dataclass(frozen=True)
class StopNode:
    pass


@dataclass(frozen=True)
class StartWatch:
    folder: str
    settle_s: float = 1.0
    rescan_s: float = 30.0


@dataclass(frozen=True)
class StopWatch:
    pass


@dataclass(frozen=True)
class StatusRequest:
    pass


@dataclass(frozen=True)
class ShowIdentity:
    """Read patient name / ID into the records from now on (or not)."""

    visible: bool


COMMANDS = (StartNode, StopNode, StartWatch, StopWatch, StatusRequest, ShowIdentity)


class IntakeControl:
    """The window's handle on one ``run_intake`` job (any thread). Commands sent before the job has
    built its engine wait here and are handed over when it has."""

    def __init__(self) -> None:
        self.show_identity = threading.Event()
        self._lock = threading.Lock()
        self._waiting: list = []
        self._notify: Callable[[object], None] | None = None

    def set_identity_visible(self, visible: bool) -> None:
        """``show_identity`` here, and in the job (wherever it runs) through a ``ShowIdentity`` command."""
        (self.show_identity.set if visible else self.show_identity.clear)()
        self.send(ShowIdentity(bool(visible)))

    def send(self, command) -> None:
        with self._lock:
            if self._notify is None:
                self._waiting.append(command)
            else:
                self._notify(command)

    def bind(self, notify: Callable[[object], None] | None) -> None:
        """The job's engine is ready (``engine.notify``), or gone (None)."""
        with self._lock:
            self._notify = notify
            while notify is not None and self._waiting:
                notify(self._waiting.pop(0))


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True)
class FamilyDecision:
    """One model's answer for an item."""

    family: str  # the card's arch: cnn | rnn | transformer ...
    model: str
    label: str | None
    probability: float | None
    positive: bool  # the label is the card's positive label
    refused: bool  # outside the training data: no label given
    error: str | None = None


@dataclass(frozen=True)
class InboxItem:
    """One incoming item as the inbox shows it. ``identity`` (patient name, ID) only when asked for."""

    name: str  # the stored name: SOP Instance UID or content hash, never patient data
    path: str
    arrived: float  # time.time() when the engine took it over
    origin: str = "dicom"
    modality: str = ""
    accession: str = ""
    study_time: str = ""  # "YYYY-MM-DD HH:MM" or ""
    decisions: tuple[FamilyDecision, ...] = ()
    failed: str | None = None  # why it could not be analysed
    identity: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def positive(self) -> bool:
        return any(d.positive for d in self.decisions)

    @property
    def flagged(self) -> bool:
        """For a human look: a model refused it (OOD) or it could not be analysed."""
        return self.failed is not None or any(d.refused or d.error for d in self.decisions)

    def priority(self) -> tuple:
        """Sort key, smallest first: positives by probability, then flagged ones, then the rest;
        newest first within a group."""
        if self.positive:
            top = max(d.probability or 0.0 for d in self.decisions if d.positive)
            return (0, -top, -self.arrived, self.name)
        return (1 if self.flagged else 2, 0.0, -self.arrived, self.name)


@dataclass(frozen=True)
class InboxBatch:
    items: tuple[InboxItem, ...]


@dataclass(frozen=True)
class IntakeStatus:
    running: bool = True
    listening: str | None = None  # "MEDDIAG on 127.0.0.1:11112" while the node runs
    port: int | None = None
    associations: int = 0
    watching: str | None = None  # the watched folder
    received: int = 0  # by the node
    analysed: int = 0
    failed: int = 0
    skipped: int = 0
    outbox: int = 0  # results waiting for delivery
    delivered: int = 0
    destination: str | None = None
    node_error: str | None = None  # why the last StartNode failed
    watch_error: str | None = None  # why the last StartWatch failed


# ----------------------------------------------------------------------------- headers
def read_header(path: str, identity: bool = False) -> dict[str, Any]:
    """modality, accession, study_time (and identity when asked) of a DICOM file; {} otherwise."""
    from pydicom import dcmread

    tags = HEADER_TAGS + (IDENTITY_TAGS if identity else ())
    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=list(tags))
    except Exception:  # not DICOM (a watched PNG), unreadable: no header facts
        return {}
    date, clock = str(ds.get("StudyDate", "") or ""), str(ds.get("StudyTime", "") or "")
    study = f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) >= 8 else ""
    if study and len(clock) >= 4:
        study += f" {clock[:2]}:{clock[2:4]}"
    header = {"modality": str(ds.get("Modality", "") or ""), "accession": str(ds.get("AccessionNumber", "") or ""),
              "study_time": study}
    if identity:
        header["identity"] = (str(ds.get("PatientName", "") or ""), str(ds.get("PatientID", "") or ""))
    return header


def read_identities(progress, cancel, paths: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Patient name and ID of stored items (the user turned them on in Settings), for the inbox only."""
    found = {}
    for i, path in enumerate(paths):
        if cancel.is_set():
            break
        progress(i, len(paths), "Reading patient names…")
        identity = read_header(path, identity=True).get("identity")
        if identity is not None:
            found[path] = identity
    return found


def decisions(rows: Sequence, cards: dict) -> tuple[FamilyDecision, ...]:
    """The core ``ScanResult`` rows of one item as per-family decisions (model card order)."""
    out = []
    for row in rows:
        card = cards.get(row.model)
        ok = row.status == "ok"
        refused = ok and row.in_distribution is False
        positive = ok and not refused and card is not None and card.positive_label is not None \
            and row.label == card.positive_label
        out.append(FamilyDecision(card.config.arch if card is not None else "", row.model, row.label if ok else None,
                                  row.probability if ok else None, positive, refused, None if ok else row.error))
    return tuple(out)


# ----------------------------------------------------------------------------- the job
class _Producers:
    """The node and the watcher of one job (started and stopped in the job's thread)."""

    def __init__(self, store, submit) -> None:
        self.store, self.submit = store, submit
        self.node = self.watcher = None
        self.listening: str | None = None
        self.node_error = self.watch_error = None

    def apply(self, command) -> None:
        if isinstance(command, (StartNode, StopNode)):
            self.node_error = None
            self._stop_node()
            if isinstance(command, StartNode):
                self._start_node(command)
        elif isinstance(command, (StartWatch, StopWatch)):
            self.watch_error = None
            self._stop_watch()
            if isinstance(command, StartWatch):
                self._start_watch(command)

    def _start_node(self, command: StartNode) -> None:
        from meddiag_desktop.core.intake.node import DicomNode, NodeConfig, Peer

        try:
            allow = tuple(Peer.parse(text) for text in command.allow)
            config = NodeConfig(ae_title=command.ae_title, port=command.port, bind=command.bind, allow=allow,
                                max_associations=max(1, command.max_associations),
                                min_free_bytes=max(0, command.min_free_mb) << 20)
            self.node = DicomNode(config, self.store, self.submit).start()
        except (OSError, ValueError, OverflowError) as exc:
            self.node = None
            self.node_error = f"cannot listen on {command.bind}:{command.port}: {getattr(exc, 'strerror', None) or exc}"
            return
        self.listening = f"{command.ae_title} on {command.bind}:{self.node.port}"

    def _stop_node(self) -> None:
        if self.node is not None:
            self.node.stop()
        self.node, self.listening = None, None

    def _start_watch(self, command: StartWatch) -> None:
        from meddiag_desktop.core.intake.watch import FolderWatcher

        try:
            self.watcher = FolderWatcher(command.folder, self.store, self.submit, settle_s=command.settle_s,
                                         rescan_s=command.rescan_s, give_up_s=max(30.0, 10 * command.settle_s))
        except (OSError, ValueError) as exc:
            self.watch_error = f"cannot watch that folder: {exc}"
            return
        self.watcher.start()

    def _stop_watch(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = None

    def stop(self) -> None:
        self._stop_node()
        self._stop_watch()


def run_intake(progress, cancel, control: IntakeControl, cards: Sequence, device: str, out_dir: str,
               destination: str | None = None, ae_title: str = "MEDDIAG", default_task: str | None = None, *,
               dicom_results: bool = False, routing_file: str | None = None,
               store_spec=None) -> Iterator[InboxBatch | IntakeStatus]:
    """Analyse what the node and the watcher (started by ``control``'s commands) bring into
    ``out_dir`` (``instances/``, ``results.csv``, ``outbox/``; ``dicom/`` with ``dicom_results`` or
    a ``destination``) until cancelled. ``routing_file``: rules sending items to other tasks, whose
    active models (from ``store_spec``, see ``jobs.models.make_store``) are loaded too."""
    from meddiag_desktop.core.intake import events as ev
    from meddiag_desktop.core.intake.assembly import build_engine
    from meddiag_desktop.core.intake.sender import Destination
    from meddiag_desktop.core.intake.store import IntakeStore
    from meddiag_desktop.core.jobs import Progress

    routing = None
    if routing_file:
        from meddiag_desktop.core.intake.routing import Routing

        from .models import make_store

        routing = Routing.from_json(routing_file)  # RoutingError: the job's error, shown by the window
        store_models = make_store(store_spec)
        chosen = {c.id: c for c in cards}
        for task in routing.tasks:
            chosen.update({c.id: c for c in store_models.active_cards(task)})
        cards = list(chosen.values())
    loaded = predictors_for_job(progress, cancel, cards, device)
    if loaded is None or not loaded.predictors:
        raise RuntimeError("no model could be loaded for the intake")
    dest = Destination.parse(destination) if destination else None
    out = Path(out_dir)
    store = IntakeStore(out)
    engine = build_engine(store, loaded.predictors, out / RESULTS_CSV, routing=routing, default_task=default_task,
                          dicom_out=out / "dicom" if dicom_results or dest else None, destination=dest,
                          ae_title=ae_title)
    by_id = {p.card.id: p.card for p in loaded.predictors}
    producers = _Producers(store, engine.submit)
    counts = dict(received=0, analysed=0, failed=0, skipped=0, delivered=0)
    arrived: dict[str, float] = {}
    items: list[InboxItem] = []

    def status() -> IntakeStatus:
        node = producers.node
        server = node.server if node is not None else None
        return IntakeStatus(True, producers.listening, node.port if node is not None else None,
                            len(server.active_associations) if server is not None else 0,
                            str(producers.watcher.folder) if producers.watcher is not None else None,
                            outbox=len(engine.outbox.waiting()) if engine.outbox is not None else 0,
                            destination=str(dest) if dest else None, node_error=producers.node_error,
                            watch_error=producers.watch_error, **counts)

    def item(name: str, path: str, **kwargs) -> InboxItem:
        header = read_header(path, identity=control.show_identity.is_set())
        return InboxItem(name, path, arrived.pop(name, time.time()), **{**header, **kwargs})

    events = engine.run(cancel=cancel)
    control.bind(engine.notify)
    try:
        for event in events:
            if isinstance(event, ShowIdentity):
                (control.show_identity.set if event.visible else control.show_identity.clear)()
            elif isinstance(event, COMMANDS):
                producers.apply(event)
                yield status()
            elif isinstance(event, ev.ItemStored):
                arrived.setdefault(event.name, time.time())
                counts["received"] += event.origin == "dicom"
            elif isinstance(event, ev.ItemAnalysed):
                found = decisions(event.rows, by_id)
                failed = None if any(d.error is None for d in found) else (found[0].error if found else "no result")
                counts["analysed" if failed is None else "failed"] += 1
                items.append(item(event.name, event.path, decisions=found, failed=failed))
            elif isinstance(event, ev.ItemFailed):
                counts["failed"] += 1
                path = str(store.rejected / event.name) if event.name else ""
                items.append(InboxItem(event.name or "(not kept)", path, time.time(), failed=event.reason))
            elif isinstance(event, ev.ItemSkipped):
                counts["skipped"] += 1
            elif isinstance(event, ev.Delivered):
                counts["delivered"] += 1
            elif isinstance(event, Progress):
                if items:
                    yield InboxBatch(tuple(items))
                    items = []
                yield status()
    finally:
        control.bind(None)
        producers.stop()
        events.close()


# ----------------------------------------------------------------------------- in a child process
def run_intake_in_child(progress, cancel, control: IntakeControl, *args, **kwargs) -> Iterator[InboxBatch | IntakeStatus]:
    """``run_intake`` in a child process (``core.child_job``), the window's way: the node's association
    threads, the engine and its decoders have their own GIL there, so they never stall the GUI thread.
    This generator (in the window's intake lane) relays the child's records; ``control``'s commands
    reach the child's own ``IntakeControl``; the arguments (cards, store spec) are pickled to it."""
    from meddiag_desktop.core.child_job import Mailbox, run_in_child

    mailbox = Mailbox()
    control.bind(mailbox.send)
    try:
        return (yield from run_in_child(progress, cancel, intake_child, *args, mailbox=mailbox, low_priority=True,
                                        **kwargs))
    finally:
        control.bind(None)


def intake_child(progress, cancel, *args, mailbox, **kwargs) -> Iterator[InboxBatch | IntakeStatus]:
    """The child process's side of ``run_intake_in_child``: ``run_intake`` with a control fed by ``mailbox``.
    The process is the intake's own: it keeps freed buffers, as ``meddiag listen`` does (large instances
    are received and decoded here without fresh page faults for each)."""
    from ...core.scan_pool import keep_freed_buffers

    keep_freed_buffers()
    control = IntakeControl()
    mailbox.deliver(control.send)
    return (yield from run_intake(progress, cancel, control, *args, **kwargs))
