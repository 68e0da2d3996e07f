"""Review mode: a clinician labels a review queue one image at a time, by keys alone.

The queue comes from a queue CSV (File → Review queue…, ``open_queue_csv``) or from the scan window's
rows ("Review uncertain cases", ``build_from_scan``: ``jobs.review.build_review_queue`` in the io lane,
the queue kept as a CSV beside the review set). The image is shown large with every model's
probabilities and the chosen heat-map: the main window's ``ViewerSession`` (image area, predictions
panel, cache, ``jobs.viewer`` job functions) runs on this window's own ``JobHost`` and its models.

Keys: 1, 2, … label the image with the task's classes (the names are on the key buttons), S skips, Z
undoes the last action, ←/→ move, H toggles the heat-map. Every action is saved at once, atomically,
to the task's review set in the user data folder (``core.review.review_set``); a restart on the same
queue opens at its first unreviewed image. A file whose sha256 differs from the queue's is flagged.
"""
from __future__ import annotations

import logging
import os
from typing import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QTimer, Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QScrollArea, QSplitter, QStatusBar, QVBoxLayout,
                               QWidget)

from .core_text import label_name
from .i18n import translate
from ..core.review.review_set import ReviewSet, ReviewSetError
from . import dialogs
from .file_list import FileList
from .guard import gui_only
from .image_area import ImageArea, file_name
from .job_host import JobHost
from .jobs import review as review_jobs
from .predictions import PredictionsPanel
from .review_footer import ReviewFooter
from .review_keys import ReviewKeys
from .style import NOTICE_TEXT, ensure_theme
from .viewer_cache import PredictionFailure, ViewerCache
from .viewer_session import ViewerSession
from .window_size import resize_to_fit
from .workers import Job

log = logging.getLogger(__name__)

CHANGED_TEXT = (QT_TRANSLATE_NOOP("ReviewWindow", "⚠ This file changed on disk since the scan: the queue's probabilities are not about this image "
                "(its label is kept, flagged 'changed')."))
ERROR_TITLES = {"queue": QT_TRANSLATE_NOOP("ReviewWindow", "Cannot open the review queue"), "session": QT_TRANSLATE_NOOP("ReviewWindow", "Could not load the models"),
                "predict": QT_TRANSLATE_NOOP("ReviewWindow", "Prediction failed"), "explain": QT_TRANSLATE_NOOP("ReviewWindow", "Heat-map failed"), "accuracy": QT_TRANSLATE_NOOP("ReviewWindow", "Local accuracy failed")}


class QueueList(FileList):
    """The queue, rank order; a row's text says its review state, so its icon marks unreadable files only
    (a tick for "predicted" would read as "reviewed")."""

    def set_state(self, path: str, state: str, summary: str = "") -> None:
        super().set_state(path, "error" if state == "error" else "pending", summary)


class ReviewWindow(QWidget):
    queueReady = Signal()  # a queue is on screen, at its first unreviewed image
    sessionReady = Signal(object)  # jobs.viewer.SessionInfo
    reviewed = Signal(str)  # an action was saved: label | skip | undo
    accuracyUpdated = Signal(object)  # card id -> LocalAccuracy
    fineTuneOpened = Signal(object)  # the fine-tune dialog, pre-filled

    def __init__(self, store=None, device: str = "auto", task: str | None = None,
                 open_finetune: Callable[[], object] | None = None, parent: QWidget | None = None) -> None:
        """``store``: a ModelStore or model folders; ``device``: auto | cpu | cuda; ``task``: the models to
        load when the queue's models are not installed here; ``open_finetune()``: shows the fine-tune dialog
        (``ChildWindows.open_finetune``) and returns it."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(self.tr("Review queue — MedDiag Desktop"))
        ensure_theme()
        self.store_spec, self.device, self.task, self.open_finetune = store, device, task, open_finetune
        self.host = JobHost(self, on_error=self._on_job_error)
        self.host.add_lane("io")
        self.host.add_lane("models")
        self.cache = ViewerCache()
        self.queue: review_jobs.LoadedQueue | None = None
        self.review: ReviewSet | None = None
        self.index = -1
        self.changed: dict[str, bool | None] = {}  # path -> differs from the queue's file (sha256 check)
        self._build()
        self.session = ViewerSession(store, self.host, self.cache, self.image_area, self.panel, self.file_list,
                                     self.status_bar, self)
        self.session.sessionLoaded.connect(self._on_session)
        self.session.errorOccurred.connect(self._report)
        self.accuracy_timer = QTimer(self, singleShot=True, interval=400)
        self.accuracy_timer.timeout.connect(self.update_accuracy)
        resize_to_fit(self, 1440, 900)

    # ================================================================== building
    def _build(self) -> None:
        notice = QLabel("⚠  " + translate("Style", NOTICE_TEXT))
        notice.setObjectName("noticeBanner")
        self.progress_label = QLabel("– / –")
        self.progress_label.setObjectName("panelTitle")
        self.item_label = QLabel(self.tr("Open a review queue."))
        self.item_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head = QHBoxLayout()
        head.addWidget(self.progress_label)
        head.addSpacing(16)
        head.addWidget(self.item_label, 1)
        self.keys = ReviewKeys(self, self.label, self.undo, self.step,
                               lambda: self.set_overlay_enabled(not self.image_area.overlay_enabled))
        self.changed_label = QLabel(translate("ReviewWindow", CHANGED_TEXT))
        self.changed_label.setObjectName("changedFile")  # style.py
        self.changed_label.setWordWrap(True)
        self.changed_label.setVisible(False)

        self.file_list = QueueList()
        self.file_list.setToolTip(self.tr("The queue in rank order (click to jump; ←/→ move)"))
        self.file_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the window's shortcuts
        self.file_list.currentRowChanged.connect(self._on_row)
        self.image_area = ImageArea(False, 0.45)
        self.image_area.ensure_viewer()
        self.image_area.viewer.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.panel = PredictionsPanel()
        self.panel.set_opacity(0.45)
        self.panel.overlayToggled.connect(self.set_overlay_enabled)
        self.panel.overlayOpacityChanged.connect(self.image_area.set_overlay_opacity)
        self.panel.explainChoiceChanged.connect(lambda: self.session.show_heatmap())
        panel_scroll = QScrollArea()
        panel_scroll.setWidget(self.panel)
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        panel_scroll.setMinimumWidth(420)
        splitter = QSplitter()
        for widget in (self.file_list, self.image_area, panel_scroll):
            splitter.addWidget(widget)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 600, 620])
        splitter.setChildrenCollapsible(False)
        self.footer = ReviewFooter()
        self.footer.fineTuneRequested.connect(self.fine_tune)
        self.status_bar = QStatusBar()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(notice)
        margins = QHBoxLayout()
        margins.setContentsMargins(10, 0, 10, 0)
        margins.addLayout(head)
        layout.addLayout(margins)
        layout.addWidget(self.keys)
        layout.addWidget(self.changed_label)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.footer)
        layout.addWidget(self.status_bar)
    # ================================================================== opening a queue
    def choose_queue(self) -> QFileDialog:
        """File dialog for a queue CSV (it starts where the window keeps the queues it builds)."""
        folder = review_jobs.queue_csv_path(self.task).parent
        dialog = QFileDialog(self, self.tr("Open a review queue"), str(folder if folder.is_dir() else os.path.expanduser("~")),
                             self.tr("Review queues (*.csv);;All files (*)"))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.open_queue_csv)
        dialog.open()
        return dialog

    def open_queue_csv(self, path) -> Job:
        """Review the queue CSV ``path`` (``meddiag review-queue`` or one this window built)."""
        return self._submit_queue(Job(review_jobs.read_queue, os.fspath(path), self.store_spec, name="read queue",
                                      tag="queue", key=("queue",)))

    def build_from_scan(self, rows, budget: int) -> Job:
        """Rank the scan's ``rows`` (core ScanResult) into a queue of ``budget`` images, then review it."""
        self.item_label.setText(self.tr("Ranking {len} scanned images…").format(len=len({r.path for r in rows})))
        return self._submit_queue(Job(review_jobs.build_review_queue, tuple(rows), int(budget), self.store_spec,
                                      name="build queue", tag="queue", key=("queue",)))

    def _submit_queue(self, job: Job) -> Job:
        job.returned.connect(self._on_queue)
        return self.host.submit("io", job, 10)

    @gui_only
    def _on_queue(self, queue: review_jobs.LoadedQueue) -> None:
        self.queue, self.review, self.index, self.changed = queue, None, -1, {}
        self.file_list.blockSignals(True)
        for path in self.file_list.paths():
            self.session.forget(path)
            self.file_list.remove_path(path)
        self.file_list.add_paths([e.path for e in queue.entries])
        self.file_list.blockSignals(False)
        for line in queue.summary:
            log.info("review queue: %s", line)
        self.task = queue.task or self.task
        info = self.session.info
        if info is None or (queue.task is not None and info.task != queue.task):
            self.item_label.setText(self.tr("{len} images queued; loading the models…").format(len=len(queue.entries)))
            self.session.load(self.device, self.task)
        else:
            self._start_review()

    @gui_only
    def _on_session(self, info) -> None:
        self.sessionReady.emit(info)
        if self.queue is not None and self.review is None:
            self._start_review()

    def _start_review(self) -> None:
        """Open the task's review set and go to the queue's first unreviewed image."""
        info = self.session.info
        self.task = self.queue.task or info.task
        labels = info.cards[0].labels if info.cards else ()
        try:
            self.review = ReviewSet(review_jobs.review_set_path(self.task), labels)
        except ReviewSetError as exc:
            self._report(self.tr("Cannot open the review set"), str(exc))
            return
        self.keys.set_labels(self.review.labels)
        self.setWindowTitle(self.tr("Review {basename} — MedDiag Desktop").format(basename=os.path.basename(self.queue.source)))
        for row in range(len(self.queue.entries)):
            self._update_row(row)
        start = self.review.next_unreviewed(self.paths())
        self.go(len(self.queue.entries) - 1 if start is None else start)
        self.session.schedule_prefetch()
        self.update_accuracy()
        self.queueReady.emit()

    # ================================================================== the image on screen
    def paths(self) -> list[str]:
        return [e.path for e in self.queue.entries] if self.queue is not None else []

    @property
    def entry(self):
        """The queue entry on screen (``core.review.queue_csv.QueueEntry``), None before a queue opens."""
        return self.queue.entries[self.index] if self.queue is not None and 0 <= self.index < len(self.queue.entries) \
            else None

    def go(self, index: int) -> None:
        if self.queue is not None and self.queue.entries:
            index = max(0, min(len(self.queue.entries) - 1, index))
            if self.file_list.currentRow() == index:
                self._on_row(index)  # shown again (a queue re-opened, an undo of the image on screen)
            else:
                self.file_list.setCurrentRow(index)

    def step(self, delta: int) -> None:
        self.go(self.index + delta)

    @gui_only
    def _on_row(self, row: int) -> None:
        self.index = row
        entry = self.entry
        self.session.show_file(entry.path if entry is not None else None)
        if entry is not None and entry.sha256 and entry.path not in self.changed:
            job = Job(review_jobs.file_changed, entry.path, entry.sha256, name="check file", tag="changed",
                      key=("changed", entry.path))
            job.returned.connect(lambda changed, p=entry.path: self._on_changed(p, changed))
            self.host.submit("io", job, 5)
        self._update_texts()

    def _on_changed(self, path: str, changed) -> None:
        self.changed[path] = changed
        if path in self.paths():
            self._update_row(self.paths().index(path))
        self._update_texts()

    def _record(self, path: str):
        return self.review.current().get(os.path.abspath(path)) if self.review is not None else None

    def _is_changed(self, path: str) -> bool:
        record = self._record(path)
        return bool(self.changed.get(path)) or (record is not None and record.changed)

    def _update_row(self, row: int) -> None:
        entry, item = self.queue.entries[row], self.file_list.item(row)
        record = self._record(entry.path)
        state = "" if record is None else self.tr(" — skipped") if record.skipped else f" — {label_name(record.label)}"
        item.setText(f"{entry.rank}. {file_name(entry.path)}{state}{' ⚠' if self._is_changed(entry.path) else ''}")

    def _update_texts(self) -> None:
        paths = self.paths()
        done = self.review.current() if self.review is not None else {}
        records = [done[p] for p in map(os.path.abspath, paths) if p in done]
        skipped = sum(r.skipped for r in records)
        self.progress_label.setText(f"{len(records)} / {len(paths)}")
        self.progress_label.setToolTip(self.tr("{value} labelled, {skipped} skipped").format(value=len(records) - skipped, skipped=skipped))
        self.footer.set_reviewed(len(self.review.labelled()) if self.review is not None else 0)
        entry = self.entry
        if entry is None:
            self.changed_label.setVisible(False)
            return
        record = self._record(entry.path)
        state = (self.tr("not reviewed yet") if record is None else self.tr("skipped") if record.skipped
                 else self.tr("labelled <b>{label}</b>").format(label=label_name(record.label)))
        remaining = len(paths) - len(records)
        tail = "" if remaining else self.tr(" — every image of the queue is reviewed")
        self.item_label.setText(f"#{entry.rank} · {translate('CoreText', entry.reason)} · {file_name(entry.path)} · {state}{tail}")
        self.changed_label.setVisible(self._is_changed(entry.path))

    # ================================================================== label, skip, undo
    @gui_only
    def label(self, label: str | None):
        """Label the image on screen (None: skip), save at once, go to the next unreviewed image."""
        entry = self.entry
        if entry is None or self.review is None:
            return None
        try:
            record = self.review.label(entry.path, label, random=entry.random, expected_sha256=entry.sha256)
        except (ReviewSetError, OSError) as exc:
            self._report(self.tr("Label not saved"), str(exc))
            return None
        self._after_action(record, "skip" if label is None else "label")
        self.go(self._next_unreviewed_after(self.index))
        return record

    @gui_only
    def undo(self):
        """Drop the last label or skip (saved at once) and show its image again."""
        if self.review is None:
            return None
        record = self.review.undo()
        if record is None:
            self.status_bar.showMessage(self.tr("Nothing to undo"), 3000)
            return None
        self._after_action(record, "undo")
        paths = [os.path.abspath(p) for p in self.paths()]
        if record.path in paths:
            self.go(paths.index(record.path))
        self.status_bar.showMessage(self.tr("Undone: {file_name}").format(file_name=file_name(record.path)), 3000)
        return record

    def _after_action(self, record, action: str) -> None:
        paths = [os.path.abspath(p) for p in self.paths()]
        if record.path in paths:
            self._update_row(paths.index(record.path))
        self._update_texts()
        if record.random:
            self.accuracy_timer.start()
        self.reviewed.emit(action)

    def _next_unreviewed_after(self, index: int) -> int:
        done = self.review.current()
        paths = self.paths()
        order = list(range(index + 1, len(paths))) + list(range(0, index))
        return next((i for i in order if os.path.abspath(paths[i]) not in done), index)

    # ================================================================== heat-map
    def set_overlay_enabled(self, enabled: bool) -> None:
        self.image_area.set_overlay_enabled(bool(enabled))
        self.panel.overlay_check.blockSignals(True)
        self.panel.overlay_check.setChecked(bool(enabled))
        self.panel.overlay_check.blockSignals(False)
        self.session.show_heatmap()

    # ================================================================== local accuracy, fine-tune
    def update_accuracy(self) -> Job | None:
        """Each model's accuracy on the random share's labels (models lane, after the predictions)."""
        ids = self.session.model_ids()
        if self.review is None or not ids or not self.review.labelled(True):
            return None
        known = {key: result for key, result in self.cache.results.items() if not isinstance(result, PredictionFailure)}
        job = Job(review_jobs.local_accuracies, self.session.model_session, str(self.review.path), tuple(ids), known,
                  name="local accuracy", tag="accuracy", key=("accuracy",))
        job.returned.connect(self._on_accuracy)
        return self.host.submit("models", job, 1)

    @gui_only
    def _on_accuracy(self, accuracies: dict) -> None:
        if self.session.info is not None:
            self.footer.show_accuracies(self.session.info.cards, accuracies)
        self.accuracyUpdated.emit(accuracies)

    @gui_only
    def fine_tune(self):
        """Export the review set (training CSV; the random share as validation CSV) and open the fine-tune
        dialog pre-filled with both. Without both classes in the random share, the dialog splits off a
        validation fraction of all the labels instead."""
        if self.review is None or self.open_finetune is None or not self.review.labelled():
            return None
        stem = self.review.path.with_suffix("")
        train, val = f"{stem}-train.csv", f"{stem}-validation.csv"
        honest = len({r.label for r in self.review.labelled(True)}) >= 2
        try:
            rows = self.review.export_training_csv(train, include_random=not honest)
            if honest:
                self.review.export_validation_csv(val)
        except OSError as exc:
            self._report(self.tr("Cannot export the review set"), str(exc))
            return None
        dialog = self.open_finetune()
        base = next((c.id for c in self.session.info.cards if c.config.arch == "cnn"), None) if self.session.info else None
        if base is not None and dialog.setup.base_combo.findData(base) >= 0:
            dialog.set_base(base)  # the task's CNN (a new dialog lists its models later and picks the active one)
        dialog.setup.set_val_data_path(val if honest else "")
        dialog.set_data_path(train)
        self.status_bar.showMessage(self.tr("Fine-tune dialog: {rows} training images").format(rows=rows)
                                    + (self.tr(" + the random share for validation") if honest else ""), 8000)
        self.fineTuneOpened.emit(dialog)
        return dialog

    # ================================================================== errors, closing
    def _on_job_error(self, job: Job, error) -> None:
        if job.tag == "load":
            self.session.image_failed(job.key[1], error)
        elif job.tag in ERROR_TITLES:
            if job.tag == "queue":
                self.item_label.setText(translate("ReviewWindow", ERROR_TITLES['queue']) + f": {error.message}")
            self._report(translate("ReviewWindow", ERROR_TITLES[job.tag]), error.message, error.details)

    @gui_only
    def _report(self, title: str, message: str, details: str = "") -> None:
        log.error("%s: %s", title, message)
        if not self.closed:
            dialogs.error_box(self, title, message, details)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        """Cancel the jobs and join the lanes' threads (the review set is saved already). Idempotent."""
        self.accuracy_timer.stop()
        self.host.shutdown()

    def closeEvent(self, event) -> None:
        self.hide()
        self.shutdown()
        event.accept()
