"""The intake engine: the one job that analyses what producers store, and the only writer of the
results CSV, the audit log and the analysed index.

Producers (the DICOM node's association threads, the folder watcher) store an item atomically in
the intake folder and call :meth:`IntakeEngine.submit` (thread-safe, a queue). :meth:`IntakeEngine.run`
returns the job - a generator with a keyword-only ``cancel`` - which

1. takes over what a previous run left stored but not analysed (``ItemStored(origin="resumed")``);
2. takes items off the queue in batches (what is queued, plus what arrives within ``gather_s``
   of the first without a pause of ``LULL_S``, up to ``batch_size``: a busy node fills big
   batches, the end of a burst is analysed at once),
   skips content analysed before (sha256 index, ``ItemSkipped``), routes each to its models
   (``routing``), runs ``core.scan.scan`` on the batch;
3. per batch (group commit), in this order: the CSV rows of every item (one flush + fsync), their
   audit records (same records as a scan, no paths; the audit ``row`` is the CSV row; one fsync),
   DICOM SR + SC per item when asked (and into the outbox), then the index lines (one fsync);
   then one ``ItemAnalysed`` per item; now and then (and whenever idle) a checkpoint of the store's
   receive journal. A kill between two steps leaves the batch's items pending,
   and the next run writes only the rows and records that are missing, so every item is in the
   CSV and the audit log exactly once;
4. yields the outbox's ``Delivered`` / ``DeliveryFailed`` events and a ``Progress`` per batch.

It ends when ``cancel`` is set, or after ``idle_exit_s`` seconds without work when that is given.
"""
from __future__ import annotations

import os
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

from ..audit import AuditLog, file_sha256, iter_audit
from ..inference import Predictor
from ..jobs import CancelFlag, Progress, is_cancelled
from ..scan import DEFAULT_WORKERS, ScanResult, scan
from ..scan_pool import LARGE_FILE_BYTES, median_size
from .forward import ForwardPool, predict_in_threads
from .events import Arrival, ItemAnalysed, ItemFailed, ItemSkipped, ItemStored
from .outbox import Outbox
from .results_csv import ResultsCsv
from .routing import ItemFacts, Routing, read_facts
from .store import IntakeStore

__all__ = ["IntakeEngine"]

POLL_S = 0.1  # how often an idle engine looks at ``cancel``
# How long a batch waits for more arrivals after its first. A node receiving ~100 instances/s made
# batches of ~6 with 50 ms: the forward costs ~1.5x per image at that size (vs 16-32), and the
# engine's CPU is taken from the association threads beside it (benchmarks/node_throughput.py).
GATHER_S = 0.2
# ... unless arrivals pause this long: the end of a burst (a study sent, a modality's queue
# emptied) is analysed at once instead of waiting out ``gather_s``; a stream keeps gathering.
LULL_S = 0.025


class IntakeEngine:
    """See the module docstring. ``predictors``: every model any route may use (loaded once);
    ``default_task``: the task of items no rule matches (None: all ``predictors``)."""

    def __init__(self, store: IntakeStore, predictors: Sequence[Predictor], results_csv: str | os.PathLike, *,
                 audit: AuditLog | None = None, routing: Routing | None = None, default_task: str | None = None,
                 dicom_out: str | os.PathLike | None = None, outbox: Outbox | None = None, batch_size: int = 32,
                 workers: int = DEFAULT_WORKERS, gather_s: float = GATHER_S, forward_workers: int = 0) -> None:
        if not predictors:
            raise ValueError("the intake needs at least one model")
        self.store, self.predictors = store, tuple(predictors)
        self.created = time.time()  # temporary files older than this are a previous process's
        self.csv = ResultsCsv(results_csv, [p.card for p in self.predictors])
        self.audit_log = audit if audit is not None else AuditLog()
        self.routing, self.default_task = routing or Routing(), default_task
        self.dicom_out = Path(dicom_out) if dicom_out is not None else None
        self.outbox, self.batch_size, self.workers, self.gather_s = outbox, batch_size, workers, gather_s
        self._queue: queue.Queue = queue.Queue()
        # Small files with models a worker process can load: decoded and predicted there (forward.py).
        self.forward = ForwardPool(self.predictors, forward_workers)
        self._threads: ThreadPoolExecutor | None = None  # hashing and decoding large files, for one run
        self._audited: set | None = None  # (file_sha256, model) of this folder's audit, read on demand

    # ---------------------------------------------------------------- producers (any thread)
    def submit(self, arrival: Arrival) -> None:
        self._queue.put(arrival)

    def notify(self, event: object) -> None:
        """For the outbox thread: an event the job yields as it is."""
        self._queue.put(event)

    def pending(self) -> int:
        return self._queue.qsize()

    # ---------------------------------------------------------------- the job
    def run(self, *, cancel: CancelFlag | None = None, idle_exit_s: float | None = None) -> Iterator:
        """Check the audit log and the CSV now (``OSError`` / ``ResultsCsvError``), return the job."""
        self.audit_log.check_writable()
        self.csv.open()
        return self._run(cancel, idle_exit_s)

    def _run(self, cancel: CancelFlag | None, idle_exit_s: float | None) -> Iterator:
        self.store.remove_interrupted_writes(before=self.created)  # a previous process's, never a live one
        audit = self.audit_log.scan(self.store.scan_id())
        names, shas = self.store.load_index()
        tally = _Tally()
        work = [Arrival(name, "resumed") for name in self.store.pending(names)]
        if self.outbox is not None:
            self.outbox.start()
        self.forward.start()
        try:
            idle_since = time.monotonic()
            while not is_cancelled(cancel):
                batch, events = self._collect(work)
                for event in events:
                    yield event
                if not batch:
                    self.store.checkpoint(force=True)  # idle: the journal's files made durable
                    if idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                        return
                    continue
                for arrival in batch:
                    if arrival.rejected is None:
                        yield ItemStored(arrival.name, arrival.origin)
                yield from self._analyse(batch, audit, names, shas, tally)
                self.store.checkpoint()
                yield tally.progress(self._queue.qsize())
                idle_since = time.monotonic()
        finally:
            if self.outbox is not None:
                self.outbox.stop()
            self.forward.stop()
            threads, self._threads = self._threads, None
            if threads is not None:
                threads.shutdown(wait=True, cancel_futures=True)
            self.store.checkpoint(force=True)
            self.csv.close()

    def _collect(self, work: list[Arrival]) -> tuple[list[Arrival], list]:
        """Up to ``batch_size`` arrivals (left-overs first, then what is queued or arrives within
        ``gather_s`` of the first, with no pause of ``LULL_S``), and the notices that came with them
        (never waited for)."""
        batch, events = work[: self.batch_size], []
        del work[: self.batch_size]
        deadline = None if not batch else time.monotonic() + self.gather_s
        while len(batch) < self.batch_size:
            timeout = POLL_S if deadline is None else min(deadline - time.monotonic(), LULL_S)
            try:
                message = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(message, Arrival):
                batch.append(message)
                if deadline is None:
                    deadline = time.monotonic() + self.gather_s
            else:
                events.append(message)
                if deadline is None:
                    break  # a command or a delivery while idle: hand it over now
        return batch, events

    def _analyse(self, batch: list[Arrival], audit, names: set, shas: set, tally: "_Tally") -> Iterator:
        groups: dict[tuple[Predictor, ...], list[tuple[Arrival, str, ItemFacts]]] = {}
        taken: set[str] = set()
        taken_shas: set[str] = set()
        hashes = self._hashes(batch)
        for arrival in batch:
            if arrival.rejected is not None:
                yield self._rejected(arrival, audit, tally)
                continue
            path = self.store.path(arrival.name)
            sha = hashes.get(arrival.name)
            if sha is None:
                continue  # removed by hand meanwhile
            if arrival.name in taken:
                yield ItemSkipped(arrival.name, "already taken")
                continue
            if arrival.name in names or sha in shas or sha in taken_shas:  # the same content earlier in the batch too
                if arrival.name not in names:
                    self.store.mark_analysed(arrival.name, sha)
                    names.add(arrival.name)
                tally.skipped += 1
                yield ItemSkipped(arrival.name)
                continue
            taken.add(arrival.name)
            taken_shas.add(sha)
            facts = arrival.facts or read_facts(path, arrival.folder)
            groups.setdefault(self._route(facts), []).append((arrival, sha, facts))
        done = []  # (arrival, sha, facts, rows, predictors) in analysis order
        for predictors, items in groups.items():
            rows = self._scan([str(self.store.path(a.name)) for a, _, _ in items], [sha for _, sha, _ in items],
                              predictors)
            for arrival, sha, facts in items:
                path = str(self.store.path(arrival.name))
                item_rows = rows.get(path) or [_error(path, p, sha, "could not analyse the image") for p in predictors]
                done.append((arrival, sha, facts, item_rows, predictors))
        if not done:
            return
        self._record([row for *_, item_rows, _ in done for row in item_rows], audit)
        outputs = [self._dicom_results(item_rows, predictors) for *_, item_rows, predictors in done]
        self.store.mark_analysed_many([(arrival.name, sha) for arrival, sha, *_ in done])
        self.store.release_pages([arrival.name for arrival, *_ in done])
        for (arrival, sha, facts, item_rows, _), written in zip(done, outputs):
            names.add(arrival.name)
            shas.add(sha)
            tally.count(item_rows)
            yield ItemAnalysed(arrival.name, str(self.store.path(arrival.name)), tuple(item_rows), facts.modality,
                               tuple(written))

    def _route(self, facts: ItemFacts) -> tuple[Predictor, ...]:
        task = self.routing.task_for(facts) or self.default_task
        chosen = tuple(p for p in self.predictors if task is None or p.card.task == task)
        return chosen or self.predictors  # a rule naming a task without models: the defaults

    def _hashes(self, batch: list[Arrival]) -> dict[str, str | None]:
        """Each stored arrival's sha256: the producer's, else taken from its file (None: removed
        meanwhile) - in threads (hashing releases the GIL), as the node leaves large instances unhashed."""
        known, missing = {}, []
        for arrival in batch:
            if arrival.rejected is None:
                if arrival.sha256 and self.store.path(arrival.name).is_file():
                    known[arrival.name] = arrival.sha256
                else:
                    missing.append(arrival.name)
        paths = [self.store.path(name) for name in missing]
        threads = self._thread_pool() if len(paths) > 1 else None
        if threads is None:
            known.update(zip(missing, map(file_sha256, paths)))
        else:
            known.update(zip(missing, threads.map(file_sha256, paths)))
        return known

    def _thread_pool(self) -> ThreadPoolExecutor | None:
        """The run's one pool of ``workers`` threads (hashing, decoding large files), started when first
        needed and shut down when the run ends; None with one worker (the engine's thread does it)."""
        if self._threads is None and self.workers > 1:
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="meddiag-intake")
        return self._threads

    def _scan(self, paths: list[str], sha256s: list[str],
              predictors: Sequence[Predictor]) -> dict[str, list[ScanResult]]:
        rows: dict[str, list[ScanResult]] = {}
        small = (median_size(paths) or 0) < LARGE_FILE_BYTES
        try:
            # Small files: decoded and predicted in the worker process; large ones: decoded in threads here.
            made = (self.forward.predict(paths, predictors) if small
                    else predict_in_threads(paths, sha256s, predictors, self._thread_pool()))
        except Exception:  # a surprise in the worker: analysed here instead
            made = None
        if made is not None:
            for row in made:
                rows.setdefault(row.path, []).append(row)
            return rows
        # One batch is one scan, so decode threads have no forward to run beside: they pay only where
        # decoding leaves the GIL (large images); small files decode here, without a pool per batch.
        workers = 0 if small else self.workers
        try:
            for event in scan(paths, predictors, batch_size=max(1, len(paths)), workers=workers):
                if isinstance(event, ScanResult):
                    rows.setdefault(event.path, []).append(event)
        except Exception as exc:  # an item removed meanwhile, a surprise: error rows, never the end
            reason = f"could not analyse the image ({type(exc).__name__})"
            for path in paths:
                rows.setdefault(path, [_error(path, p, file_sha256(path), reason) for p in predictors])
        return rows

    def _record(self, rows: Sequence[ScanResult], audit) -> None:
        """The CSV rows and audit records that are not there yet: one fsync each for the lot."""
        present = [self.csv.has(r.path, r.model) for r in rows]
        new = [r for r, there in zip(rows, present) if not there]
        if new:
            numbers = self.csv.append(new)  # contiguous rows
            audit.rows = numbers[0] - 1
            audit.record(new)
        for row, there in zip(rows, present):
            if there and not self._was_audited(row):  # a restart after a kill
                audit.rows = self.csv.present[(row.path, row.model)] - 1
                audit.record([row])

    def _dicom_results(self, rows: Sequence[ScanResult], predictors: Sequence[Predictor]) -> list:
        """An item's SR + SC when asked for (and into the outbox)."""
        if self.dicom_out is None or not any(r.status == "ok" for r in rows):
            return []
        from ..dicom_results.writer import write_dicom_results

        outputs = write_dicom_results(rows[0].path, rows, predictors, self.dicom_out)
        if self.outbox is not None:
            for output in outputs:
                if output.ok:
                    self.outbox.put(output.path)
        return outputs

    def _was_audited(self, row: ScanResult) -> bool:
        if self._audited is None:
            scan_id = self.store.scan_id()
            self._audited = {(r.get("file_sha256"), r.get("model")) for r in iter_audit(self.audit_log.path)
                             if r.get("scan_id") == scan_id}
        return (row.file_sha256, row.model) in self._audited

    def _rejected(self, arrival: Arrival, audit, tally: "_Tally") -> ItemFailed:
        """One error row (no model) for a data set a producer refused."""
        path = str(self.store.rejected / arrival.name) if arrival.name else ""
        row = ScanResult(path=path, model="", status="error", error=arrival.rejected,
                         file_sha256=file_sha256(path) if path else None)
        self._record([row], audit)
        tally.errors += 1
        return ItemFailed(arrival.name, arrival.rejected)


def _error(path: str, predictor: Predictor, sha: str | None, reason: str) -> ScanResult:
    return ScanResult(**vars(predictor.error_result(path, reason)), file_sha256=sha,
                      model_sha256=predictor.card.sha256 or None)


class _Tally:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ok = self.errors = self.skipped = 0

    def count(self, rows: Sequence[ScanResult]) -> None:
        if any(r.status == "ok" for r in rows):
            self.ok += 1
        else:
            self.errors += 1

    def progress(self, queued: int) -> Progress:
        done, elapsed = self.ok + self.errors, time.perf_counter() - self.start
        return Progress(done, done + queued, "analysed", ok=self.ok, errors=self.errors, skipped=self.skipped,
                        rate=done / elapsed if elapsed > 0 else 0.0, elapsed_s=elapsed)
