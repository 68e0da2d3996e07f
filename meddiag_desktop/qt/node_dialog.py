"""Settings → DICOM node: the node's options (those of ``meddiag listen``), start / stop, its status,
the watch folder, and whether the inbox shows patient names / IDs.

The dialog only edits ``IntakeSettings`` and asks the window's ``Intake`` to start or stop things;
the status it shows comes from the intake job's ``IntakeStatus`` records (asked for once a second
while the dialog is open), never from the node's own threads.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)
from .i18n import translate

if TYPE_CHECKING:
    from .intake_settings import IntakeSettings
    from .jobs.intake import IntakeStatus


class IntakeControls(Protocol):
    """What the dialog needs of the window's ``qt.intake.Intake`` (which opens this dialog: an
    interface here, not an import, keeps the two modules out of an import circle)."""

    settings: IntakeSettings
    status: IntakeStatus | None
    loading: bool
    statusChanged: Any  # Signal(object): IntakeStatus

    def set_identity_visible(self, visible: bool) -> None: ...
    def start_node(self, options: IntakeSettings | None = None) -> bool: ...
    def stop_node(self) -> None: ...
    def start_watch(self, folder: str, options: IntakeSettings | None = None) -> bool: ...
    def stop_watch(self) -> None: ...
    def request_status(self) -> None: ...

STATUS_POLL_MS = 1000


def _row(*widgets) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
    return box


class NodeDialog(QDialog):
    def __init__(self, intake: IntakeControls, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intake = intake
        self.setWindowTitle(self.tr("DICOM node and watch folder"))
        s = intake.settings
        self.ae_title = QLineEdit(s.ae_title)
        self.ae_title.setMaxLength(16)
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(s.port)
        self.port.setToolTip(self.tr("TCP port (0: any free port)"))
        self.bind = QLineEdit(s.bind)
        self.bind.setToolTip(self.tr("Interface to listen on. 127.0.0.1: only this computer can send (the safe default)"))
        self.allow = QLineEdit(s.allow)
        self.allow.setPlaceholderText(self.tr("any caller"))
        self.allow.setToolTip(self.tr("Only these callers: AET or AET@HOST, separated by spaces; others are rejected"))
        self.send_to = QLineEdit(s.send_to)
        self.send_to.setPlaceholderText(self.tr("AET@HOST:PORT (optional)"))
        self.send_to.setToolTip(self.tr("C-STORE every SR + SC made to this AE (kept in an outbox until delivered)"))
        self.max_associations = QSpinBox()
        self.max_associations.setRange(1, 64)
        self.max_associations.setValue(s.max_associations)
        self.max_associations.setToolTip(self.tr("Simultaneous associations the node accepts; more are rejected"))
        self.min_free_mb = QSpinBox()
        self.min_free_mb.setRange(0, 1 << 20)
        self.min_free_mb.setSuffix(" MB")
        self.min_free_mb.setValue(s.min_free_mb)
        self.min_free_mb.setToolTip(self.tr("Below this much free disk new images are refused (status A700), never "
                                            "half-stored"))
        self.routing_file = QLineEdit(s.routing_file)
        self.routing_file.setPlaceholderText(self.tr("none: every image goes to the active task's models"))
        self.routing_file.setToolTip(self.tr("JSON rules sending images to a task by modality, photometric "
                                             "interpretation, body part or watched sub-folder (see the README)"))
        browse_routing = QPushButton(self.tr("Browse…"))
        browse_routing.clicked.connect(self._browse_routing)
        self.dicom_results = QCheckBox(self.tr("Write DICOM results (SR + heat-map SC) for every image"))
        self.dicom_results.setChecked(s.dicom_results)
        self.dicom_results.setToolTip(self.tr("Into the output folder's dicom/; always on when results are sent to a PACS"))
        self.out_dir = QLineEdit(s.output_folder)
        browse_out = QPushButton(self.tr("Browse…"))
        browse_out.clicked.connect(lambda: self._browse(self.out_dir, self.tr("Folder for received images and results")))
        self.show_identity = QCheckBox(self.tr("Show patient name and ID in the inbox (never saved to any file)"))
        self.show_identity.setChecked(s.show_identity)
        self.show_identity.toggled.connect(intake.set_identity_visible)

        node_box = QGroupBox(self.tr("DICOM node (Storage SCP + Verification)"))
        form = QFormLayout(node_box)
        form.addRow(self.tr("AE title"), self.ae_title)
        form.addRow(self.tr("Port"), self.port)
        form.addRow(self.tr("Listen on"), self.bind)
        form.addRow(self.tr("Allowed callers"), self.allow)
        form.addRow(self.tr("Send results to"), self.send_to)
        form.addRow(self.tr("Max. associations"), self.max_associations)
        form.addRow(self.tr("Min. free disk"), self.min_free_mb)
        form.addRow(self.tr("Routing rules"), _row(self.routing_file, browse_routing))
        form.addRow(self.tr("Output folder"), _row(self.out_dir, browse_out))
        form.addRow(self.dicom_results)
        self.start_button = QPushButton(self.tr("Start node"))
        self.start_button.clicked.connect(self.start_node)
        self.stop_button = QPushButton(self.tr("Stop node"))
        self.stop_button.clicked.connect(intake.stop_node)
        form.addRow(_row(self.start_button, self.stop_button))

        watch_box = QGroupBox(self.tr("Watch folder"))
        self.watch_folder = QLineEdit(s.watch_folder)
        self.watch_folder.setPlaceholderText(self.tr("a folder the modality or PACS exports into"))
        browse_watch = QPushButton(self.tr("Browse…"))
        browse_watch.clicked.connect(lambda: self._browse(self.watch_folder, self.tr("Folder to watch")))
        self.watch_button = QPushButton(self.tr("Start watching"))
        self.watch_button.clicked.connect(lambda: intake.start_watch(self.watch_folder.text().strip(), self.options()))
        self.unwatch_button = QPushButton(self.tr("Stop watching"))
        self.unwatch_button.clicked.connect(intake.stop_watch)
        watch_layout = QVBoxLayout(watch_box)
        watch_layout.addWidget(_row(self.watch_folder, browse_watch))
        watch_layout.addWidget(_row(self.watch_button, self.unwatch_button))

        self.status_label = QLabel()
        self.status_label.setObjectName("nodeStatus")
        self.status_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(node_box)
        layout.addWidget(watch_box)
        layout.addWidget(self.show_identity)
        layout.addWidget(self.status_label)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.close)
        layout.addWidget(close)

        self.poll = QTimer(self)
        self.poll.setInterval(STATUS_POLL_MS)
        self.poll.timeout.connect(intake.request_status)
        intake.statusChanged.connect(self.show_status)
        self.show_status(intake.status)

    def _browse(self, edit: QLineEdit, caption: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, caption, edit.text())
        if folder:
            edit.setText(folder)

    def _browse_routing(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Routing rules"), self.routing_file.text(), "JSON (*.json)")
        if path:
            self.routing_file.setText(path)

    def options(self):
        """The form as ``IntakeSettings`` (not saved)."""
        return self.intake.settings.with_(
            ae_title=self.ae_title.text().strip() or "MEDDIAG", port=self.port.value(),
            bind=self.bind.text().strip() or "127.0.0.1", allow=self.allow.text().strip(),
            send_to=self.send_to.text().strip(), out_dir=self.out_dir.text().strip(),
            watch_folder=self.watch_folder.text().strip(), show_identity=self.show_identity.isChecked(),
            max_associations=self.max_associations.value(), min_free_mb=self.min_free_mb.value(),
            routing_file=self.routing_file.text().strip(), dicom_results=self.dicom_results.isChecked())

    @Slot()
    def start_node(self) -> None:
        self.intake.start_node(self.options())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.poll.start()

    def hideEvent(self, event) -> None:
        self.poll.stop()
        super().hideEvent(event)

    @Slot(object)
    def show_status(self, status: IntakeStatus | None) -> None:
        listening = status is not None and status.listening is not None
        watching = status is not None and status.watching is not None
        self.start_button.setEnabled(not listening)
        self.stop_button.setEnabled(listening)
        self.watch_button.setEnabled(not watching)
        self.unwatch_button.setEnabled(watching)
        for edit in (self.ae_title, self.port, self.bind, self.allow, self.send_to, self.out_dir, self.max_associations,
                     self.min_free_mb, self.routing_file, self.dicom_results):
            edit.setEnabled(not listening and not watching)  # one intake folder and engine for both
        self.status_label.setText(status_text(status, self.intake.loading))


def status_text(status: IntakeStatus | None, loading: bool = False) -> str:
    if status is None or not status.running:
        return translate("NodeDialog", "Loading the models…") if loading else translate("NodeDialog", "Stopped: nothing listens, nothing is watched.")
    lines = [translate("NodeDialog", "Listening as {listening} — {associations} association(s) open").format(listening=status.listening, associations=status.associations) if status.listening
             else translate("NodeDialog", "The node is stopped (nothing listens).")]
    if status.watching:
        lines.append(translate("NodeDialog", "Watching {watching}").format(watching=status.watching))
    lines.append(translate("NodeDialog", "Received {received} · analysed {analysed} · failed {failed} · already analysed {skipped}").format(received=status.received, analysed=status.analysed, failed=status.failed, skipped=status.skipped))
    if status.destination:
        lines.append(translate("NodeDialog", "Sending to {destination}: {delivered} delivered, {outbox} waiting in the outbox").format(destination=status.destination, delivered=status.delivered, outbox=status.outbox))
    lines += [f"⚠ {error}" for error in (status.node_error, status.watch_error) if error]
    return "\n".join(lines)
