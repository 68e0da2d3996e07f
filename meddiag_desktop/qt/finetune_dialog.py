"""The fine-tune dialog: data + base model -> live training in the worker -> comparison -> new version.

Left, two tabs: the set-up page (``finetune_setup.SetupPage``: data, base model, options) and the
results page (``finetune_results.ResultsPage``: base vs new with bootstrap CIs, confusion matrices,
reliability, operating point, *Save as new version*); right, the training panel
(``finetune_training.TrainingPanel``: live curves, progress, *Stop early*, *Cancel*), always
visible, so starting a run switches no page.

The dialog runs the work and holds the run's state: every job is a ``workers.Job`` on the
dialog's "training" lane (``jobs.finetune``); events arrive through the job's signals in the GUI
thread and go to the pages. No torch in the GUI thread. *Stop early* keeps the best epoch so far
and finishes normally; *Cancel* discards the run (nothing is saved, the active model is untouched).
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ..core.training_events import Comparison, EpochEnd, FineTuneSpec, FitEnd, TrainedModel
from . import dialogs
from .finetune_results import ResultsPage
from .finetune_setup import SetupPage, suggested_name
from .finetune_training import TrainingPanel
from .guard import gui_only
from .job_host import JobHost
from .jobs import finetune as jobs
from .window_size import resize_to_fit
from .workers import Job, freeze_long_lived_objects
from .core_text import core_text

log = logging.getLogger(__name__)

RESULTS_TAB = 1


class FineTuneDialog(QDialog):
    versionSaved = Signal(str)  # the new version's ID
    activeModelsChanged = Signal()  # a saved version was activated: the window reloads its models
    runFinished = Signal(str)  # completed | early_stopped | stopped | cancelled | error
    resultsReady = Signal()  # the comparison is shown
    inspected = Signal()  # the data summary is shown (or failed)

    def __init__(self, store=None, parent: QWidget | None = None, device: str = "auto", n_boot: int = 1000) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models);
        ``device``: the preselected device (auto | cpu | cuda; gpu is read as cuda)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Fine-tune a model — MedDiag Desktop"))
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setModal(False)
        self.store_spec = store
        self.n_boot = n_boot
        self.arch_kwargs: dict = {}  # from-scratch architecture arguments (tests / benchmarks: tiny models)
        self.host = JobHost(self, on_error=self._on_job_error, on_progress=lambda _job, p: self._on_progress(p))
        self.lane = self.host.add_lane("training", low_priority=False)  # torch leaves the GUI a core
        self.inspection: jobs.Inspection | None = None
        self.inspect_error: str | None = None
        self.run_job: Job | None = None
        self.stop_event: threading.Event | None = None
        self.spec: FineTuneSpec | None = None
        self.prepared: jobs.Prepared | None = None
        self.trained: TrainedModel | None = None  # the last run's model
        self.card = None  # its card, possibly re-calibrated
        self.comparison: Comparison | None = None
        self.fit_status: str | None = None
        self.saved_id: str | None = None
        self.epoch_log: list[dict] = []
        self.warmed_up = False  # the pages were rendered once (showEvent)

        self.setup = SetupPage(device)
        self.setup.inspectRequested.connect(self.inspect)
        self.setup.startRequested.connect(self.start)
        self.training = TrainingPanel()
        self.training.stopRequested.connect(self.stop_early)
        self.training.cancelRequested.connect(self.cancel_training)
        # The curves' x axis spans the run: set it now, not at "Start" (a new range re-generates the axes).
        self.training.curves.set_epochs(self.setup.epochs_spin.value())
        self.setup.epochsChanged.connect(lambda n: None if self.running else self.training.curves.set_epochs(n))
        self.results_page = ResultsPage()
        self.results_page.applyRequested.connect(self.apply_operating_point)
        self.results_page.saveRequested.connect(lambda: self.save_version())

        # Set-up and results on the left, the live training panel always visible on the right: starting
        # a run switches no page (showing two pyqtgraph plots for the first time costs 70-200 ms of
        # GUI thread here, which would be a stall right at the start of training).
        self.tabs = QTabWidget()
        self.tabs.addTab(self.setup, self.tr("1  Data && model"))
        results = QScrollArea()  # its tables and plots must not set the left side's minimum width
        results.setWidget(self.results_page)
        results.setWidgetResizable(True)
        results.setFrameShape(QScrollArea.Shape.NoFrame)
        self.tabs.addTab(results, self.tr("2  Results && save"))
        self.tabs.setTabEnabled(RESULTS_TAB, False)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.training)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 720])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        notice = QLabel(self.tr("Decision support only: a fine-tuned model is validated on your data alone - check its "
                        "figures before you activate it."))
        notice.setObjectName("noticeBanner")
        notice.setWordWrap(True)
        layout.addWidget(notice)
        layout.addWidget(self.splitter, 1)
        resize_to_fit(self, 1280, 800)
        self.refresh_models()
        warm_up = Job(jobs.warm_up, name="warm up training", tag="warm-up")
        warm_up.returned.connect(lambda _: freeze_long_lived_objects())  # the training imports are done
        self._submit(warm_up, -1)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.warmed_up:
            self.warmed_up = True
            QTimer.singleShot(0, self._warm_up_pages)

    def _warm_up_pages(self) -> None:
        """Render every curve once (pyqtgraph builds its symbol atlas and text on first paint) and
        lay out the hidden results page, while the user is still choosing the data: neither then
        stalls the GUI thread during training."""
        self.training.curves.render_warm_up(self.training.curves.grab)
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

    @Slot(object)
    @gui_only
    def _on_models(self, models) -> None:
        self.setup.set_models(models)

    def set_base(self, model_id: str | None) -> None:
        self.setup.set_base(model_id)

    def set_data_path(self, path: str | os.PathLike) -> None:
        self.setup.set_data_path(path)

    def inspect(self) -> None:
        data = self.setup.data_path()
        self.lane.cancel("inspect")
        self.inspection, self.inspect_error = None, None
        self._update_start()
        if not data:
            return
        self.setup.show_reading()
        job = Job(jobs.inspect_data, self.store_spec, data, self.setup.val_spin.value(), True, self.setup.base_id(),
                  self.setup.val_data_path(), name="read the data set", tag="inspect")
        job.returned.connect(self._on_inspection)
        self._submit(job, 5)

    @Slot(object)
    @gui_only
    def _on_inspection(self, inspection) -> None:
        if inspection.data != self.setup.data_path():
            return
        self.inspection = inspection
        self.setup.show_inspection(inspection)
        self._update_start()
        self.inspected.emit()

    @gui_only
    def _on_inspect_failed(self, error) -> None:
        self.inspect_error = error.message
        self.setup.show_inspect_error(error.message)
        self._update_start()
        self.inspected.emit()

    def _update_start(self) -> None:
        self.setup.set_may_start(self.inspection is not None and not self.running)

    # ================================================================== training
    @property
    def running(self) -> bool:
        return self.run_job is not None and not self.run_job.done

    def start(self) -> None:
        """Start training with the set-up page's choices (asks first when the data set has warnings)."""
        if self.running or self.inspection is None:
            return
        warnings = self.inspection.summary.warnings
        if warnings:
            dialogs.ask(self, self.tr("Train on this data?"), "\n\n".join(warnings) + self.tr("\n\nTrain anyway?"), self._start,
                        warning=True)
            return
        self._start()

    def _start(self) -> None:
        self.spec = self.setup.spec(self.arch_kwargs, self.n_boot)
        self.stop_event = threading.Event()
        self.trained = self.card = self.comparison = self.prepared = None
        self.fit_status, self.saved_id, self.epoch_log = None, None, []
        self.training.reset(self.spec.epochs)
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
        self.training.set_running(running)
        self._update_start()

    def stop_early(self) -> None:
        """Finish after the current step, keeping the best epoch so far (a normal, usable result)."""
        if self.running and self.stop_event is not None:
            self.stop_event.set()
            self.training.stop_button.setEnabled(False)
            self.training.set_text(self.tr("Stopping — keeping the best epoch so far…"))

    def cancel_training(self) -> None:
        """Discard the run: nothing is saved and the active model is untouched."""
        if self.running:
            self.run_job.cancel()
            self.training.set_text(self.tr("Cancelling…"))
            self._set_running(False)

    @Slot(object)
    @gui_only
    def _on_run_event(self, event) -> None:
        match event:
            case jobs.StepBatch():
                self.training.show_steps(event, stopping=self.stop_event is not None and self.stop_event.is_set())
            case EpochEnd():
                self.epoch_log.append({"epoch": event.epoch, "val_loss": event.val_loss, **event.metrics})
                self.training.show_epoch(event)
            case jobs.Prepared():
                self.prepared = event
            case FitEnd():
                self.fit_status = event.status
                self.training.show_fit_end(event)
            case TrainedModel():
                self.trained, self.card = event, event.card
            case Comparison():
                self.comparison = event
                self._show_results()

    def _on_progress(self, progress) -> None:
        if progress.text and self.running and self.fit_status is not None:
            self.training.set_text(core_text(progress.text))

    @gui_only
    def _on_run_cancelled(self) -> None:
        self.fit_status = "cancelled"
        self.trained = self.card = self.comparison = None
        self.training.set_text(self.tr("Cancelled — nothing was saved; the active model is unchanged."))

    @gui_only
    def _on_run_failed(self, error) -> None:
        self.fit_status = "error"
        self.training.set_text(self.tr("Training failed: {message}").format(message=error.message))

    @gui_only
    def _on_run_finished(self) -> None:
        self._set_running(False)
        self.training.curves.flush()
        if self.comparison is not None:
            self.training.progress.set_value(1.0)
            self.training.set_text(self.tr("Done ({replace}): see the results.").format(replace=self.fit_status.replace('_', ' ')))
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
        if self.trained is None or self.prepared is None or self.running:
            return None
        rule = self.results_page.rule()
        target = self.results_page.target()
        job = Job(jobs.recalibrate, self.trained.model, self.card, self.prepared.val, rule, target, self.n_boot,
                  self.comparison.out_of_fold if self.comparison else None, name="operating point", tag="recalibrate")
        job.returned.connect(self._on_recalibrated)
        self.results_page.apply_button.setEnabled(False)
        self.results_page.threshold_label.setText(self.tr("Re-fitting the operating point…"))
        return self._submit(job)

    @Slot(object)
    @gui_only
    def _on_recalibrated(self, result) -> None:
        card, evaluation = result
        self.card = card
        self.comparison = replace(self.comparison, new=evaluation)
        self._show_results()
        if self.saved_id:
            self.results_page.saved_label.setText(self.tr("Saved {saved_id} earlier with the previous operating point; save again to keep this one as another version.").format(saved_id=self.saved_id))

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
        self.results_page.saved_label.setText(self.tr("Saving…"))
        return self._submit(job)

    @gui_only
    def _on_saved(self, card, activated: bool) -> None:
        self.saved_id = card.id
        self.results_page.saved_label.setText(self.tr("Saved <b>{id}</b> (version {version})").format(id=card.id, version=card.version)
                                 + (self.tr(" — now the active model.") if activated else self.tr(" — not activated.")))
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
                self.results_page.saved_label.setText(self.tr("Not saved: {message}").format(message=error.message))
            case _:
                log.error("%s failed: %s", job.name, error.message)
                if not self.closed:
                    dialogs.error_box(self, self.tr("An operation of the fine-tune dialog failed"), error.message, error.details)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        """Cancel the run (nothing is saved) and join the training lane's thread."""
        self.host.shutdown()

    def closeEvent(self, event) -> None:
        if self.running and not self.run_job.is_cancelled:
            dialogs.ask(self, self.tr("Cancel training?"), self.tr("Training is still running. Cancel it? Nothing will be saved."),
                        lambda: (self.cancel_training(), self.close()))
            if not self.run_job.is_cancelled:  # not answered yet: close() again once it is
                event.ignore()
                return
        self.cancel_training()
        event.accept()
