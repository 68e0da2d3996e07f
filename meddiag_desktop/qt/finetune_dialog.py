"""The fine-tune dialog: data + base model -> live training in the worker -> comparison -> new version.

Left, two tabs; right, the training panel (always visible, so starting a run switches no page):

1. **Data & model** - an ImageFolder folder (``train/`` + ``val/`` sub-folders or a ``val/`` folder next
   to the class folders are used as they are) or a CSV ``path,label``; the base model (shipped or a
   user version) or a family to train from scratch; epochs, learning rate, batch size, validation
   fraction (stratified), augmentation, device. The class counts are shown with warnings for tiny
   (< 20 per class) or imbalanced (> 4:1) sets; classes that do not map onto the base model's labels
   need an explicit "new label set" confirmation (the classifier head is re-initialised).
2. **Results** - base vs new model on the same validation set (metrics with bootstrap 95 % CIs),
   confusion matrices, reliability diagram with ECE before / after calibration, an operating-point
   picker (threshold for a target sensitivity / specificity, re-fitted on validation) and *Save as
   new version* (optionally activated).

**Training** panel - live curves (``training_curves``), progress with epoch / step / ETA, *Stop early*
(keeps the best epoch so far and finishes normally) and *Cancel* (discards the run; nothing is saved,
the active model is untouched).

All work runs as ``workers.Job`` s on the dialog's "training" lane (``jobs.finetune``); results
arrive through the job's signals in the GUI thread. No torch in the GUI thread. The results page is
``finetune_results.ResultsPage``.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
    QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from ..core.training_events import Comparison, EpochEnd, FineTuneSpec, FitEnd, TrainedModel
from . import dialogs
from .jobs import finetune as jobs
from .display_names import family_name
from .guard import gui_only
from .job_host import JobHost
from .painted_text import PaintedText
from .finetune_results import METRIC_NAMES, ResultsPage
from .predictions import ProbabilityBar
from .training_curves import TrainingCurves
from .workers import Job, freeze_long_lived_objects

log = logging.getLogger(__name__)

FAMILIES = ("cnn", "rnn", "transformer")
RESULTS_TAB = 1
DEVICES = (("auto", "Auto (GPU if available)"), ("cpu", "CPU"), ("cuda", "GPU (CUDA)"))
WARN_STYLE = "color: #8a5300; background: #fff4ce; border: 1px solid #e3c66b; border-radius: 3px; padding: 4px;"


def eta_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def suggested_name(base_id: str | None, task: str, family: str, now: _dt.datetime | None = None) -> str:
    """What an empty name becomes (core.versions.new_version_id without the clash suffix)."""
    stem = base_id.split("@", 1)[0] if base_id else f"{task}-{family}"
    return f"{stem}@{(now or _dt.datetime.now()).strftime('%Y-%m-%dT%H-%M-%S')}"


class FineTuneDialog(QDialog):
    versionSaved = Signal(str)  # the new version's ID
    activeModelsChanged = Signal()  # a saved version was activated: the window reloads its models
    runFinished = Signal(str)  # completed | early_stopped | stopped | cancelled | error
    resultsReady = Signal()  # the comparison is shown
    inspected = Signal()  # the data summary is shown (or failed)

    def __init__(self, store=None, parent: QWidget | None = None, device: str = "auto", n_boot: int = 1000) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models);
        ``device``: the preselected device (auto | cpu | gpu / cuda)."""
        super().__init__(parent)
        self.setWindowTitle("Fine-tune a model — MedDiag Desktop")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setModal(False)
        self.store_spec = store
        self.n_boot = n_boot
        self.arch_kwargs: dict = {}  # from-scratch architecture arguments (tests / benchmarks: tiny models)
        self.host = JobHost(self, on_error=self._on_job_error, on_progress=lambda _job, p: self._on_progress(p))
        self.lane = self.host.add_lane("training", low_priority=False)  # torch leaves the GUI a core
        self.models: list[jobs.ModelChoice] = []
        self.inspection: jobs.Inspection | None = None
        self.inspect_error: str | None = None
        self.run_job: Job | None = None
        self.stop_event: threading.Event | None = None
        self.spec = None
        self.prepared: jobs.Prepared | None = None
        self.trained = None  # core.pipeline.TrainedModel of the last run
        self.card = None  # its card, possibly re-calibrated
        self.comparison = None  # core.finetune.Comparison
        self.fit_status: str | None = None
        self.saved_id: str | None = None
        self.epoch_log: list[dict] = []

        # Set-up and results on the left, the live training panel always visible on the right: starting
        # a run switches no page (showing two pyqtgraph plots for the first time costs 70-200 ms of
        # GUI thread here, which would be a stall right at the start of training).
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_setup(), "1  Data && model")
        self.results_page = ResultsPage()
        self.results_page.applyRequested.connect(self.apply_operating_point)
        self.results_page.saveRequested.connect(lambda: self.save_version())
        results = QScrollArea()  # its tables and plots must not set the left side's minimum width
        results.setWidget(self.results_page)
        results.setWidgetResizable(True)
        results.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs.addTab(results, "2  Results && save")
        self.tabs.setTabEnabled(RESULTS_TAB, False)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self._build_training())
        self.curves.set_epochs(self.epochs_spin.value())
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 720])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        notice = QLabel("Decision support only: a fine-tuned model is validated on your data alone - check its "
                        "figures before you activate it.")
        notice.setObjectName("noticeBanner")
        notice.setWordWrap(True)
        layout.addWidget(notice)
        layout.addWidget(self.splitter, 1)
        self.resize(1280, 800)
        device_index = next((i for i, (key, _) in enumerate(DEVICES) if key == {"gpu": "cuda"}.get(device, device)), 0)
        self.device_combo.setCurrentIndex(device_index)
        self.refresh_models()

    # ================================================================== building
    def _build_setup(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)

        data_box = QGroupBox("Training data")
        grid = QGridLayout(data_box)
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("An image folder (one sub-folder per class) or a CSV file with path,label")
        self.data_edit.editingFinished.connect(self.inspect)
        folder_button = QPushButton("Folder…")
        folder_button.clicked.connect(self._choose_folder)
        csv_button = QPushButton("CSV file…")
        csv_button.clicked.connect(self._choose_csv)
        grid.addWidget(QLabel("Data:"), 0, 0)
        grid.addWidget(self.data_edit, 0, 1)
        grid.addWidget(folder_button, 0, 2)
        grid.addWidget(csv_button, 0, 3)
        self.summary_label = QLabel("Choose a data set to see its classes.")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        grid.addWidget(self.summary_label, 1, 0, 1, 4)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet(WARN_STYLE)
        self.warnings_label.setVisible(False)
        grid.addWidget(self.warnings_label, 2, 0, 1, 4)
        self.new_labels_check = QCheckBox("Use the data's own label set (the classifier head is re-initialised)")
        self.new_labels_check.setVisible(False)
        self.new_labels_check.toggled.connect(self._update_start)
        grid.addWidget(self.new_labels_check, 3, 0, 1, 4)
        layout.addWidget(data_box)

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        self.base_combo = QComboBox()
        self.base_combo.setToolTip("The model to start from (shipped or one of your versions), or none")
        self.base_combo.currentIndexChanged.connect(self._base_changed)
        form.addRow("Base model:", self.base_combo)
        self.family_combo = QComboBox()
        for family in FAMILIES:
            self.family_combo.addItem(family_name(family), family)
        form.addRow("Family (from scratch):", self.family_combo)
        self.task_edit = QComboBox()
        self.task_edit.setEditable(True)
        self.task_edit.addItems(["pneumonia", "breast", "custom"])
        form.addRow("Task (from scratch):", self.task_edit)
        layout.addWidget(model_box)

        hyper_box = QGroupBox("Training")
        form = QFormLayout(hyper_box)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 500)
        self.epochs_spin.setValue(10)
        # The curves' x axis spans the run; set it now, not at "Start" (a new range re-generates the axes).
        self.epochs_spin.valueChanged.connect(
            lambda n: None if self._running() or not hasattr(self, "curves") else self.curves.set_epochs(n))
        form.addRow("Epochs:", self.epochs_spin)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(1e-5, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.lr_spin.setValue(1e-3)
        form.addRow("Learning rate:", self.lr_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self.batch_spin.setValue(32)
        form.addRow("Batch size:", self.batch_spin)
        self.val_spin = QDoubleSpinBox()
        self.val_spin.setRange(0.05, 0.5)
        self.val_spin.setSingleStep(0.05)
        self.val_spin.setValue(0.2)
        self.val_spin.setToolTip("Stratified validation fraction (not used when the folder has a val/ sub-folder)")
        self.val_spin.editingFinished.connect(self.inspect)
        form.addRow("Validation fraction:", self.val_spin)
        self.augment_check = QCheckBox("Augment (small rotations, shifts, contrast changes)")
        self.augment_check.setChecked(True)
        form.addRow("", self.augment_check)
        self.device_combo = QComboBox()
        for key, text in DEVICES:
            self.device_combo.addItem(text, key)
        form.addRow("Device:", self.device_combo)
        layout.addWidget(hyper_box)

        row = QHBoxLayout()
        self.setup_status = QLabel("")
        self.setup_status.setWordWrap(True)
        row.addWidget(self.setup_status, 1)
        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.start_button.setEnabled(False)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _build_training(self) -> QWidget:
        page = QGroupBox("Training")
        layout = QVBoxLayout(page)
        self.curves = TrainingCurves()
        layout.addWidget(self.curves, 1)
        # A bar painted with update(), not QProgressBar: its setValue() repaints synchronously.
        self.progress = ProbabilityBar()
        self.progress.setFixedHeight(10)
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        # Labels whose size does not follow their text: a new text never re-lays out the page (which
        # would resize the plots and re-generate their axes).
        self.progress_label = PaintedText(1)  # painted: a new text per step never relayouts the dialog
        row.addWidget(self.progress_label, 1)
        self.stop_button = QPushButton("Stop early")
        self.stop_button.setToolTip("Finish now and keep the best epoch so far")
        self.stop_button.clicked.connect(self.stop_early)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Discard this run; nothing is saved and the active model stays")
        self.cancel_button.clicked.connect(self.cancel_training)
        row.addWidget(self.stop_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.epoch_label = PaintedText(2, wrap=True)
        layout.addWidget(self.epoch_label)
        self._set_running(False)
        return page

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_warmed", False):
            self._warmed = True
            QTimer.singleShot(0, self._warm_up_pages)

    def _warm_up_pages(self) -> None:
        """Render every curve once (pyqtgraph builds its symbol atlas and text on first paint) and
        lay out the hidden results page, while the user is still choosing the data: neither then
        stalls the GUI thread during training."""
        self.curves.render_warm_up(self.curves.grab)
        results = self.tabs.widget(RESULTS_TAB)
        results.resize(self.tabs.currentWidget().size())
        results.grab()

    # ================================================================== models and data
    def _submit(self, job: Job, priority: int = 0) -> Job:
        return self.host.submit("training", job, priority)

    def refresh_models(self) -> None:
        job = Job(jobs.list_models, self.store_spec, name="list models", tag="models")
        job.returned.connect(self._on_models)
        self._submit(job, 10)
        if not getattr(self, "_warm_up_queued", False):
            self._warm_up_queued = True
            warm_up = Job(jobs.warm_up, name="warm up training", tag="warm-up")
            warm_up.returned.connect(lambda _: freeze_long_lived_objects())  # the training imports are done
            self._submit(warm_up, -1)

    @Slot(object)
    @gui_only
    def _on_models(self, models) -> None:
        previous = self.base_id()
        self.models = list(models)
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        for m in self.models:
            tags = [family_name(m.family), m.task, m.source] + (["active"] if m.active else []) + \
                   (["DEMO"] if m.demo else [])
            self.base_combo.addItem(f"{m.id}  ({', '.join(tags)})", m.id)
        self.base_combo.addItem("None — train from scratch", None)
        index = self.base_combo.findData(previous) if previous else -1
        if index < 0:
            preferred = [i for i, m in enumerate(self.models) if m.active and m.family == "cnn" and m.task == "pneumonia"]
            active = [i for i, m in enumerate(self.models) if m.active]
            index = (preferred or active or [self.base_combo.count() - 1])[0]
        self.base_combo.setCurrentIndex(index)
        self.base_combo.blockSignals(False)
        self._base_changed()

    def base_id(self) -> str | None:
        return self.base_combo.currentData() if self.base_combo.count() else None

    def base_choice(self) -> jobs.ModelChoice | None:
        return next((m for m in self.models if m.id == self.base_id()), None)

    def set_base(self, model_id: str | None) -> None:
        self.base_combo.setCurrentIndex(self.base_combo.findData(model_id))

    def _base_changed(self, *_) -> None:
        scratch = self.base_id() is None
        self.family_combo.setEnabled(scratch)
        self.task_edit.setEnabled(scratch)
        self.inspect()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training images (one sub-folder per class)")
        if folder:
            self.set_data_path(folder)

    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CSV with path,label", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.set_data_path(path)

    def set_data_path(self, path: str | os.PathLike) -> None:
        self.data_edit.setText(os.fspath(path))
        self.inspect()

    def inspect(self) -> None:
        data = self.data_edit.text().strip()
        self.lane.cancel("inspect")
        self.inspection, self.inspect_error = None, None
        self._update_start()
        if not data:
            return
        self.summary_label.setText("Reading the data set…")
        job = Job(jobs.inspect_data, self.store_spec, data, self.val_spin.value(), True, self.base_id(),
                  name="read the data set", tag="inspect")
        job.returned.connect(self._on_inspection)
        self._submit(job, 5)

    @Slot(object)
    @gui_only
    def _on_inspection(self, inspection) -> None:
        if inspection.data != self.data_edit.text().strip():
            return
        self.inspection = inspection
        s = inspection.summary
        head = "".join(f"<th style='padding:0 10px'>{name}</th>" for name in s.labels)
        row = lambda title, counts: f"<tr><td>{title}</td>" + "".join(  # noqa: E731
            f"<td align='center'>{counts.get(n, 0)}</td>" for n in s.labels) + "</tr>"
        self.summary_label.setText(
            f"<b>{sum(s.train_counts.values())}</b> training and <b>{sum(s.val_counts.values())}</b> validation "
            f"images ({s.val_source}).<table><tr><td></td>{head}</tr>{row('train', s.train_counts)}"
            f"{row('validation', s.val_counts)}</table>")
        warnings = list(s.warnings)
        new_labels = s.relation == "new"
        if new_labels:
            warnings.insert(0, f"The data's classes ({', '.join(s.labels)}) are not the base model's labels "
                               f"({', '.join(s.base_labels)}). Tick the box below to train a new label set.")
        self.new_labels_check.setVisible(new_labels)
        if not new_labels:
            self.new_labels_check.setChecked(False)
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))
        self._update_start()
        self.inspected.emit()

    @gui_only
    def _on_inspect_failed(self, error) -> None:
        self.inspect_error = error.message
        self.summary_label.setText(f"<span style='color:#c0392b'>Cannot use this data: {error.message}</span>")
        self.warnings_label.setVisible(False)
        self._update_start()
        self.inspected.emit()

    def _update_start(self, *_) -> None:
        ok = self.inspection is not None and not self._running()
        if ok and self.inspection.summary.relation == "new" and not self.new_labels_check.isChecked():
            ok = False
        self.start_button.setEnabled(ok)

    # ================================================================== training
    def _running(self) -> bool:
        return self.run_job is not None and not self.run_job.done

    def build_spec(self) -> FineTuneSpec:
        """The set-up page's choices (``core.training_events`` is torch-free)."""
        base = self.base_choice()
        task = base.task if base else (self.task_edit.currentText().strip() or "custom")
        family = base.family if base else self.family_combo.currentData()
        return FineTuneSpec(
            data=self.data_edit.text().strip(), base_id=base.id if base else None, family=family, task=task,
            new_labels=self.new_labels_check.isChecked(), epochs=self.epochs_spin.value(), lr=self.lr_spin.value(),
            batch_size=self.batch_spin.value(), val_fraction=self.val_spin.value(), augment=self.augment_check.isChecked(),
            device=self.device_combo.currentData(), arch_kwargs=dict(self.arch_kwargs),
            model_id=suggested_name(base.id if base else None, task, family).replace(":", "-"),
            command="MedDiag Desktop fine-tune dialog", n_boot=self.n_boot)

    def start(self) -> None:
        """Start training with the set-up page's choices (asks first when the data set has warnings)."""
        if self._running() or self.inspection is None:
            return
        warnings = self.inspection.summary.warnings
        if warnings:
            dialogs.ask(self, "Train on this data?", "\n\n".join(warnings) + "\n\nTrain anyway?", self._start,
                        warning=True)
            return
        self._start()

    def _start(self) -> None:
        self.spec = self.build_spec()
        self.stop_event = threading.Event()
        self.trained = self.card = self.comparison = self.prepared = None
        self.fit_status, self.saved_id, self.epoch_log = None, None, []
        self.curves.reset(self.spec.epochs)
        self.progress.set_value(0.0)
        self.progress_label.set_full_text("Preparing the images…")
        self.epoch_label.set_full_text("")
        self.results_page.save_button.setEnabled(False)
        self.results_page.saved_label.setText("")
        self.tabs.setTabEnabled(RESULTS_TAB, False)
        self.tabs.setCurrentIndex(0)
        job = Job(jobs.train, self.store_spec, self.spec, self.stop_event, name="fine-tune", tag="run")
        job.yielded.connect(self._on_run_event)
        job.cancelled.connect(self._on_run_cancelled)
        job.finished.connect(self._on_run_finished)
        self.run_job = self._submit(job)
        self._set_running(True)
        log.info("fine-tune started: base %s, %d epoch(s)", self.spec.base_id, self.spec.epochs)

    def _set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        if hasattr(self, "start_button"):
            self._update_start()

    def stop_early(self) -> None:
        """Finish after the current step, keeping the best epoch so far (a normal, usable result)."""
        if self._running() and self.stop_event is not None:
            self.stop_event.set()
            self.stop_button.setEnabled(False)
            self.progress_label.set_full_text("Stopping — keeping the best epoch so far…")

    def cancel_training(self) -> None:
        """Discard the run: nothing is saved and the active model is untouched."""
        if self._running():
            self.run_job.cancel()
            self.progress_label.set_full_text("Cancelling…")
            self._set_running(False)

    @Slot(object)
    @gui_only
    def _on_run_event(self, event) -> None:
        match event:
            case jobs.StepBatch():
                self._on_steps(event)
            case EpochEnd():
                self._on_epoch(event)
            case jobs.Prepared():
                self.prepared = event
            case FitEnd():
                self._on_fit_end(event)
            case TrainedModel():
                self.trained, self.card = event, event.card
            case Comparison():
                self.comparison = event
                self._show_results()

    def _on_steps(self, event: jobs.StepBatch) -> None:
        self.curves.add_steps(event.x, event.loss)
        done = (event.epoch - 1 + event.step / event.steps) / event.epochs
        self.progress.set_value(done)
        if not (self.stop_event and self.stop_event.is_set()):
            self.progress_label.set_full_text(f"Epoch {event.epoch}/{event.epochs} · step {event.step}/{event.steps}"
                                              f" · loss {event.loss[-1]:.4f} · ETA {eta_text(event.eta_s)}")

    def _on_epoch(self, event: EpochEnd) -> None:
        self.curves.add_epoch(event.epoch, event.val_loss, event.metrics, event.is_best)
        self.epoch_log.append({"epoch": event.epoch, "val_loss": event.val_loss, **event.metrics})
        scores = " · ".join(f"{METRIC_NAMES.get(k, k)} {v:.3f}" for k, v in event.metrics.items())
        self.epoch_label.set_full_text(f"Epoch {event.epoch}: train loss {event.train_loss:.4f}, validation loss "
                                       f"{event.val_loss:.4f} · {scores}{'  (best so far)' if event.is_best else ''}")
        self.progress.set_value(event.epoch / event.epochs)

    def _on_fit_end(self, event: FitEnd) -> None:
        self.fit_status = event.status
        self.curves.flush()
        words = {"completed": "Training finished", "early_stopped": "Stopped early (no improvement)",
                 "stopped": "Stopped by you", "cancelled": "Cancelled"}
        self.progress_label.set_full_text(f"{words.get(event.status, event.status)} after {event.epochs_run} "
                                          f"epoch(s); best epoch {event.best_epoch}. Evaluating…")
        self.stop_button.setEnabled(False)

    def _on_progress(self, progress) -> None:
        if progress.text and self._running() and self.fit_status is not None:
            self.progress_label.set_full_text(progress.text)

    @gui_only
    def _on_run_cancelled(self) -> None:
        self.fit_status = "cancelled"
        self.trained = self.card = self.comparison = None
        self.progress_label.set_full_text("Cancelled — nothing was saved; the active model is unchanged.")

    @gui_only
    def _on_run_failed(self, error) -> None:
        self.fit_status = "error"
        self.progress_label.set_full_text(f"Training failed: {error.message}")

    @gui_only
    def _on_run_finished(self) -> None:
        self._set_running(False)
        self.curves.flush()
        if self.comparison is not None:
            self.progress.set_value(1.0)
            self.progress_label.set_full_text(f"Done ({self.fit_status.replace('_', ' ')}): see the results.")
        self.runFinished.emit(self.fit_status or "error")

    def _show_results(self) -> None:
        self.tabs.setTabEnabled(RESULTS_TAB, True)
        self.tabs.setCurrentIndex(RESULTS_TAB)
        self.results_page.show_comparison(self.comparison, self.card,
                                          suggested_name(self.spec.base_id, self.card.task, self.card.config.arch))
        self.resultsReady.emit()

    def set_operating_point(self, rule: str, target: float | None = None) -> None:
        self.results_page.set_operating_point(rule, target)

    def apply_operating_point(self) -> Job | None:
        if self.trained is None or self.prepared is None or self._running():
            return None
        rule = self.results_page.rule()
        target = None if rule == "youden" else self.results_page.target_spin.value()
        job = Job(jobs.recalibrate, self.trained.model, self.card, self.prepared.val, rule, target, self.n_boot,
                  name="operating point", tag="recalibrate")
        job.returned.connect(self._on_recalibrated)
        self.results_page.apply_button.setEnabled(False)
        self.results_page.threshold_label.setText("Re-fitting the operating point…")
        return self._submit(job)

    @Slot(object)
    @gui_only
    def _on_recalibrated(self, result) -> None:
        card, evaluation = result
        self.card = card
        self.comparison = replace(self.comparison, new=evaluation)
        self._show_results()
        if self.saved_id:
            self.results_page.saved_label.setText(f"Saved {self.saved_id} earlier with the previous operating point; save again "
                                     "to keep this one as another version.")

    # ================================================================== saving
    def save_version(self, name: str | None = None, activate: bool | None = None) -> Job | None:
        if self.trained is None or self.card is None:
            return None
        name = (name if name is not None else self.results_page.name_edit.text()).strip() or None
        activate = self.results_page.activate_check.isChecked() if activate is None else activate
        job = Job(jobs.save, self.store_spec, self.trained.model, self.card, name, activate, name="save version",
                  tag="save")
        job.returned.connect(lambda card, a=activate: self._on_saved(card, a))
        self.results_page.save_button.setEnabled(False)
        self.results_page.saved_label.setText("Saving…")
        return self._submit(job)

    @gui_only
    def _on_saved(self, card, activated: bool) -> None:
        self.saved_id = card.id
        self.results_page.saved_label.setText(f"Saved <b>{card.id}</b> (version {card.version})"
                                 + (" — now the active model." if activated else " — not activated."))
        self.versionSaved.emit(card.id)
        if activated:
            self.activeModelsChanged.emit()
        self.refresh_models()

    # ================================================================== errors, closing
    @gui_only
    def _on_job_error(self, job: Job, error) -> None:
        """Every job's failure: the data set, the run and saving are reported in the dialog itself."""
        match job.tag:
            case "inspect":
                self._on_inspect_failed(error)
            case "run":
                self._on_run_failed(error)
            case "save":
                self.results_page.save_button.setEnabled(True)
                self.results_page.saved_label.setText(f"Not saved: {error.message}")
            case _:
                log.error("%s failed: %s", job.name, error.message)
                if not self.closed:
                    dialogs.error_box(self, f"{job.name.capitalize()} failed", error.message, error.details)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        """Cancel the run (nothing is saved) and join the training lane's thread."""
        self.host.shutdown()

    def closeEvent(self, event) -> None:
        if self._running() and not self.run_job.is_cancelled:
            dialogs.ask(self, "Cancel training?", "Training is still running. Cancel it? Nothing will be saved.",
                        lambda: (self.cancel_training(), self.close()))
            if not self.run_job.is_cancelled:  # not answered yet: close() again once it is
                event.ignore()
                return
        self.cancel_training()
        event.accept()
