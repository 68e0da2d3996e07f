"""The window's unattended intake: the Inbox dock, its status-bar count, Settings → DICOM node and
File → Watch folder…, over ONE long job (``jobs.intake.run_intake``) on the main window's
``intake`` lane.

The job owns the engine, the node and the watcher and runs in a child process
(``jobs.intake.run_intake_in_child``: their threads never share the GUI thread's GIL), started
only when the node or the watcher is wanted; this object only sends it commands
(``IntakeControl``) and shows what it yields - whole batches of inbox rows and status records -,
always through the job's signals, in the GUI thread. The job runs while the node or the watcher
is wanted; changing the intake folder, the destination, the AE title or the models starts a
fresh job (the lane runs one job at a time, so the old node has let go of its port first).
Nothing here opens the network: only a started node listens, only a named destination is sent to.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QLabel

from . import dialogs
from .inbox import InboxPanel
from .intake_settings import LIMITS, IntakeSettings
from .jobs import intake as jobs
from .workers import Job
from .i18n import translate

if TYPE_CHECKING:
    from .node_dialog import NodeDialog

LIMIT_NAMES = {"port": QT_TRANSLATE_NOOP("Intake", "Port"),
               "max_associations": QT_TRANSLATE_NOOP("Intake", "Max associations"),
               "min_free_mb": QT_TRANSLATE_NOOP("Intake", "Minimum free disk (MB)")}

log = logging.getLogger(__name__)


class Intake(QObject):
    statusChanged = Signal(object)  # jobs.intake.IntakeStatus, or None when stopped
    openRequested = Signal(str)  # a row was clicked: show this stored file in the main viewer

    def __init__(self, window) -> None:
        """``window``: the main window (its JobHost, settings, models, status bar and docks)."""
        super().__init__(window)
        self.window = window
        self.settings = IntakeSettings.load(window.settings)
        self.lane = window.host.add_lane("intake")
        self.job: Job | None = None
        self.control: jobs.IntakeControl | None = None
        self.setup: tuple | None = None  # what the running job was built with
        self.node_wanted: jobs.StartNode | None = None
        self.watch_wanted: jobs.StartWatch | None = None
        self.status: jobs.IntakeStatus | None = None
        self.dialog: NodeDialog | None = None

        self.panel = InboxPanel()
        self.panel.model.set_identity_visible(self.settings.show_identity)
        self.panel.openRequested.connect(self._open)
        self.dock = QDockWidget(self.tr("Inbox"), window)
        self.dock.setObjectName("inboxDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        window.menus["&View"].addAction(self.dock.toggleViewAction())
        self.count_label = QLabel(self.tr("Inbox: 0"))
        self.count_label.setObjectName("inboxCount")
        self.count_label.setToolTip(self.tr("Items received by the DICOM node or the watch folder"))
        window.statusBar().insertPermanentWidget(0, self.count_label)
        self.panel.changed.connect(self._show_count)
        window.sessionReady.connect(self._on_session)

    # ------------------------------------------------------------------ the user's commands
    @property
    def loading(self) -> bool:
        return self.job is not None and self.status is None

    def show_dialog(self) -> NodeDialog:
        from .node_dialog import NodeDialog

        if self.dialog is None:
            self.dialog = NodeDialog(self, self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def start_node(self, options: IntakeSettings | None = None) -> bool:
        """Start listening with ``options`` (saved; default: the saved ones); False when they are invalid."""
        options = options or self.settings
        problem = _check(options)
        if problem is not None:
            dialogs.error_box(self.window, self.tr("Cannot start the DICOM node"), problem)
            return False
        self._save(options)
        self.node_wanted = jobs.StartNode(options.ae_title, options.port, options.bind, options.allow_list,
                                          options.min_free_mb, options.max_associations)
        self._command(self.node_wanted)
        return True

    def stop_node(self) -> None:
        self.node_wanted = None
        self._command(jobs.StopNode())

    def watch_folder_dialog(self) -> None:
        """File → Watch folder…: choose a folder, then watch it."""
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self.window, self.tr("Watch folder"),
                                                  self.settings.watch_folder or self.window.settings.last_folder)
        if folder:
            self.start_watch(folder)

    def start_watch(self, folder: str, options: IntakeSettings | None = None) -> bool:
        """Watch ``folder`` with ``options`` (saved; default: the saved ones)."""
        if not folder or not os.path.isdir(folder):
            dialogs.error_box(self.window, self.tr("Cannot watch the folder"), self.tr("No such folder: {value}").format(value=folder or '(none)'))
            return False
        problem = _check(options) if options is not None else None
        if problem is not None:
            dialogs.error_box(self.window, self.tr("Cannot watch the folder"), problem)
            return False
        self._save((options or self.settings).with_(watch_folder=folder))
        self.watch_wanted = jobs.StartWatch(folder)
        self._command(self.watch_wanted)
        return True

    def stop_watch(self) -> None:
        self.watch_wanted = None
        self._command(jobs.StopWatch())

    @Slot(bool)
    def set_identity_visible(self, visible: bool) -> None:
        """Patient name / ID in the inbox (the choice is saved, the names never are)."""
        self._save(self.settings.with_(show_identity=bool(visible)))
        model = self.panel.model
        model.set_identity_visible(visible)
        if self.control is not None:
            self.control.set_identity_visible(visible)
        missing = [item.path for item in model.items if item.identity is None and item.path]
        if visible and missing:
            job = Job(jobs.read_identities, missing, name="read patient names", tag="identities")
            job.returned.connect(model.set_identities)
            self.window.host.submit("io", job, -1)

    @Slot()
    def request_status(self) -> None:
        if self.control is not None:
            self.control.send(jobs.StatusRequest())

    def _save(self, options: IntakeSettings) -> None:
        self.settings = options
        options.save(self.window.settings)
        self.window.settings.sync()

    # ------------------------------------------------------------------ the job
    def _wanted(self) -> list:
        return [c for c in (self.node_wanted, self.watch_wanted) if c is not None]

    def _job_setup(self) -> tuple | None:
        info = self.window.info
        if info is None:
            return None
        s = self.settings
        return (s.output_folder, s.send_to, s.ae_title, tuple(c.id for c in info.cards), self.window.device_choice,
                s.writes_dicom, s.routing_file, info.task if s.routing_file else None)

    def _command(self, command) -> None:
        """Hand ``command`` to the running job, or (re)start the job with every wanted command."""
        if not self._wanted():
            self._stop_job()
            return
        setup = self._job_setup()
        if setup is None:
            self.statusChanged.emit(None)  # started when the models are loaded (_on_session)
            return
        if self.job is not None and not self.job.done and setup == self.setup:
            self.control.send(command)
            return
        self._stop_job()
        self.setup, self.control = setup, jobs.IntakeControl()
        if self.settings.show_identity:
            self.control.set_identity_visible(True)
        for wanted in self._wanted():
            self.control.send(wanted)
        out_dir, send_to, ae_title, _ids, device, dicom_results, routing_file, task = setup
        job = Job(jobs.run_intake_in_child, self.control, self.window.info.cards, device, out_dir, send_to or None, ae_title,
                  task, dicom_results=dicom_results, routing_file=routing_file or None,
                  store_spec=self.window.store, name="intake", tag="intake")
        job.yielded.connect(self._on_event)
        job.errored.connect(self._on_error)
        job.finished.connect(lambda: self._on_finished(job))
        self.job = job
        self.window.host.submit("intake", job)
        self.dock.show()
        log.info("intake started (%s)", "node" if self.node_wanted else "watch folder")

    def _stop_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            log.info("intake stopped")
        self.job = self.control = self.setup = None
        self._set_status(None)

    @Slot(object)
    def _on_session(self, _info) -> None:
        """The main window's models were (re)loaded: a wanted intake starts, or restarts with them."""
        if self._wanted() and self.setup != self._job_setup():
            self._command(jobs.StatusRequest())

    @Slot()
    def _show_count(self) -> None:
        total, positive, flagged = self.panel.model.counts()
        self.count_label.setText(self.tr("Inbox: {total}").format(total=total) + (self.tr(" ({positive} positive, {flagged} to check)").format(positive=positive, flagged=flagged)
                                                      if positive or flagged else ""))

    @Slot(object)
    def _on_event(self, event) -> None:
        if isinstance(event, jobs.InboxBatch):
            self.panel.append(event.items)
        elif isinstance(event, jobs.IntakeStatus):
            self._set_status(event)
            failed = []
            if event.node_error and self.node_wanted is not None and event.listening is None:
                self.node_wanted = None
                failed.append((self.tr("Could not start the DICOM node"), event.node_error))
            if event.watch_error and self.watch_wanted is not None and event.watching is None:
                self.watch_wanted = None
                failed.append((self.tr("Could not watch the folder"), event.watch_error))
            for title, message in failed:
                dialogs.error_box(self.window, title, message)
            if failed and not self._wanted():
                self._stop_job()

    def _on_error(self, error) -> None:
        self.node_wanted = self.watch_wanted = None
        self.job = self.control = self.setup = None
        self._set_status(None)
        log.error("the intake stopped: %s", error.message)
        dialogs.error_box(self.window, self.tr("The intake stopped"), error.message, error.details)

    def _on_finished(self, job: Job) -> None:
        if job is self.job:  # ended by itself (cancelled elsewhere): nothing runs any more
            self.job = self.control = self.setup = None
            self.node_wanted = self.watch_wanted = None
            self._set_status(None)

    def _set_status(self, status) -> None:
        self.status = status
        self.statusChanged.emit(status)

    def _open(self, path: str) -> None:
        self.window.set_overlay_enabled(True)  # the image with its heat-maps
        self.openRequested.emit(path)

    def shutdown(self) -> None:
        """The window closes (its JobHost has cancelled the job: the node and the watcher stopped)."""
        self._stop_job()
        if self.dialog is not None:
            self.dialog.close()


def _check(options: IntakeSettings) -> str | None:
    """Why the node options cannot be used (None: they can)."""
    from meddiag_desktop.core.intake.addresses import Destination, Peer

    from meddiag_desktop.core.intake.routing import Routing, RoutingError

    if not options.ae_title or len(options.ae_title) > 16 or "\\" in options.ae_title:
        return translate("Intake", "The AE title must be 1 to 16 characters, without a backslash.")
    for name, low, high in LIMITS:
        if not low <= getattr(options, name) <= high:
            return translate("Intake", "{name} must be {low} to {high}.").format(
                name=translate("Intake", LIMIT_NAMES.get(name, name)), low=low, high=high)
    if options.routing_file:
        try:
            Routing.from_json(options.routing_file)
        except RoutingError as exc:
            return str(exc)
    try:
        for text in options.allow_list:
            Peer.parse(text)
        if options.send_to:
            Destination.parse(options.send_to)
    except ValueError as exc:
        return str(exc)
    return None
