"""The main window: file list | image view | predictions panel, menus, status bar.

Start-up keeps the first paint cheap. ``__init__`` builds only a light shell (banner, menu titles,
splitter with placeholders, status bar) from a few PySide6 classes - even importing Qt's ``Qt``
namespace costs ~50 ms. After the first paint ``start()`` builds the rest (file list, predictions
panel, actions), queues "load models" (torch, in the models lane) and then builds the pyqtgraph
image view. Background work goes through two ``workers.JobRunner`` lanes:

* ``io``     - reading image files, so an image shows even while models load or explain;
* ``models`` - loading models, predictions, explanations and background prefetch (by priority).

All results arrive through ``Job`` signals, i.e. in the GUI thread; caches are keyed by
(file, model) and (file, model, method), so switching back to an image is instant.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from .. import __version__
from .guard import gui_only
from ..core.device import canonical_device
from .job_host import JobHost
from .jobs import viewer as jobs
from .viewer_cache import PredictionFailure, ViewerCache
from .settings import DEVICE_CHOICES, Settings
from .style import NOTICE_TEXT, STYLE_SHEET

if TYPE_CHECKING:
    from .jobs.viewer import HeatMap, SessionInfo
    from .finetune_dialog import FineTuneDialog
    from .models_page import ModelsPage
    from .scan_window import ScanWindow
    from .workers import Job, JobError, JobRunner, Progress

log = logging.getLogger(__name__)

IMAGE_FILTER = ("Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.webp *.jp2 *.j2k *.pgm *.ppm *.pnm "
                "*.dcm *.dicom *.ima);;DICOM (*.dcm *.dicom *.ima);;All files (*)")
MAX_FOLDER_FILES = 1000
PRIORITY = {"session": 100, "predict": 50, "explain": 40, "prefetch": 0}
ERROR_TITLES = {"session": "Could not load the models", "predict": "Prediction failed",
                "prefetch": "Prediction failed", "explain": "Heat-map failed",
                "report": "Could not export the report"}  # by job tag; warm-up failures are only logged
PREFETCH_AHEAD = 2  # queued + running background predictions


def _name(path: str) -> str:
    return os.path.basename(path) or path


def expand_paths(paths) -> list[str]:
    """Absolute paths; a folder contributes its own (non-hidden) files, sorted, at most 1000."""
    out: list[str] = []
    for raw in paths:
        path = os.path.abspath(os.fspath(raw))
        if os.path.isdir(path):
            children = sorted(e.path for e in os.scandir(path) if e.is_file() and not e.name.startswith("."))
            out.extend(children[:MAX_FOLDER_FILES])
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def _raise(window):
    window.show()
    window.raise_()
    window.activateWindow()
    return window


class MainWindow(QMainWindow):
    sessionReady = Signal(object)  # jobs.viewer.SessionInfo
    predictionsUpdated = Signal(str)  # path whose results changed
    overlayUpdated = Signal()  # a heat-map was put on the image
    errorReported = Signal(str, str, str)  # title, message, details (also shown as a dialog)
    viewerReady = Signal()
    reportExported = Signal(str)  # PDF written by File → Export report… (qt/report.py)

    def __init__(self, store=None, settings: Settings | None = None, device: str | None = None,
                 task: str | None = None, parent: QWidget | None = None) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models).
        ``device`` / ``task`` override the saved settings for this run without being saved."""
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.device_choice = canonical_device(device or self.settings.device)
        self.task_choice = task or self.settings.task
        self.store = store
        self.host = JobHost(self, on_error=self._on_job_error)
        self.session = None  # jobs.viewer.ModelSession, used only by jobs on the models lane
        self.info: SessionInfo | None = None
        self.io_lane: JobRunner | None = None
        self.model_lane: JobRunner | None = None
        self.current: str | None = None
        self.cache = ViewerCache()  # images, predictions, heat-maps, prefetch queue
        self.viewer = None  # image_view.ImageViewer, built after the first paint
        self.file_list = self.panel = None  # built by start()
        self._started = False
        # helper windows, created on first use (open_scan_window, open_finetune, open_models_page)
        self.scan_window: ScanWindow | None = None
        self.finetune_dialog: FineTuneDialog | None = None
        self.models_page: ModelsPage | None = None
        self.overlay_enabled = self.settings.overlay_visible
        self.overlay_opacity = self.settings.overlay_opacity

        self.setWindowTitle("MedDiag Desktop")
        self.setAcceptDrops(True)
        self.setStyleSheet(STYLE_SHEET)
        self._build_shell()

    # ================================================================== building
    def _build_shell(self) -> None:
        """What the first paint shows; start() fills in the rest."""
        self.notice = QLabel(f"⚠  {NOTICE_TEXT}")
        self.notice.setObjectName("noticeBanner")
        self.notice.setToolTip("The models are research prototypes: every finding must be confirmed by a "
                               "qualified clinician.")
        self.placeholder = QLabel("Open images with Ctrl+O, or drop files here")
        self.placeholder.setObjectName("placeholder")  # centred by the style sheet
        self.placeholder.setWordWrap(True)
        self.viewer_stack = QStackedWidget()
        self.viewer_stack.addWidget(self.placeholder)
        self.viewer_stack.setMinimumWidth(320)
        list_stub, panel_stub = QListWidget(), QLabel("Loading models…")
        list_stub.setMinimumWidth(150)
        panel_stub.setObjectName("panelStub")
        panel_stub.setMinimumWidth(420)
        self.splitter = QSplitter()  # horizontal
        for widget in (list_stub, self.viewer_stack, panel_stub):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 640, 580])
        self.splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.menus = {name: self.menuBar().addMenu(name) for name in ("&File", "&View", "&Settings", "&Help")}
        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.device_label = QLabel("Device: –")
        self.device_label.setToolTip("Where the models run (Settings → Device)")
        self.statusBar().addPermanentWidget(self.device_label)
        geometry = self.settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1440, 900)

    def _build_rest(self) -> None:
        from PySide6.QtWidgets import QScrollArea

        from .file_list import FileList
        from .predictions import PredictionsPanel
        self.session = jobs.ModelSession(self.store)
        self.io_lane = self.host.add_lane("io")
        self.model_lane = self.host.add_lane("models")
        self.file_list = FileList()
        self.file_list.currentPathChanged.connect(self._show)
        self.file_list.setMinimumWidth(150)
        self.panel = PredictionsPanel()
        self.panel.overlayToggled.connect(self.set_overlay_enabled)
        self.panel.overlayOpacityChanged.connect(self.set_overlay_opacity)
        self.panel.explainChoiceChanged.connect(self._refresh_overlay)
        self.panel.set_opacity(self.overlay_opacity)
        self.panel.show_status("Loading models…")
        # kept as attributes: PySide's replaceWidget() does not hand ownership to the splitter
        self.panel_scroll = QScrollArea()
        self.panel_scroll.setWidget(self.panel)
        self.panel_scroll.setWidgetResizable(True)
        self.panel_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.panel_scroll.setMinimumWidth(420)
        sizes = self.splitter.sizes()
        for index, widget in ((0, self.file_list), (2, self.panel_scroll)):
            self.splitter.replaceWidget(index, widget).deleteLater()
        self.splitter.setSizes(sizes)
        state = self.settings.splitter_state
        if state is not None:
            self.splitter.restoreState(state)

        # A plain label, not an animated busy bar: its repaints would cost the GUI thread while jobs run.
        self.job_status = QLabel("")
        self.job_status.setObjectName("jobStatus")
        self.statusBar().insertPermanentWidget(0, self.job_status)
        self.model_lane.busyChanged.connect(self._on_models_busy)
        from .actions import build_actions

        build_actions(self)

    def _save_settings(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter_state = self.splitter.saveState()
        self.settings.overlay_opacity = self.overlay_opacity
        self.settings.overlay_visible = self.overlay_enabled
        self.settings.sync()

    # ================================================================== start-up
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._started:
            QTimer.singleShot(0, self.start)  # first paint done: now the slower parts

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._started:
            QTimer.singleShot(300, self.start)  # in case no paint ever comes

    def start(self) -> None:
        """Build the rest of the window, load the models (worker) and build the image view.
        Runs once, right after the first paint (or on first use)."""
        if self._started or self.closed:
            return
        self._started = True
        self._build_rest()
        self.load_models()
        # Import the image readers (pydicom, Pillow) in the io lane now rather than on the first open.
        from .workers import Job

        self.host.submit("io", Job(jobs.warm_up_io, name="warm up", tag="warm-up", key=("warm-up",)), -1)
        # pyqtgraph takes ~1 s to import: do it in the io lane (importing creates no QObject), then
        # build the view here in the GUI thread.
        job = Job(jobs.import_modules, "meddiag_desktop.qt.image_view", name="import image view", tag="warm-up",
                  key=("import-view",))
        job.finished.connect(self._ensure_viewer)
        self.host.submit("io", job, 1)

    def _ensure_viewer(self):
        if self.viewer is None and not self.closed:
            from .image_view import ImageViewer  # pyqtgraph: ~1 s, kept off the first paint

            self.viewer = ImageViewer()
            self.viewer.set_overlay_opacity(self.overlay_opacity)
            self.viewer.set_overlay_enabled(self.overlay_enabled)
            self.viewer_stack.addWidget(self.viewer)
            if self.current is None:  # paint it once now (same dark background as the placeholder),
                self.viewer_stack.setCurrentWidget(self.viewer)  # so its first-show cost is not
                QTimer.singleShot(0, self._back_to_placeholder)  # paid when the first image opens
            self.viewerReady.emit()
        return self.viewer

    # ================================================================== models
    def load_models(self) -> None:
        """(Re)load the models of the chosen task on the chosen device, in the models lane."""
        from .workers import Job

        for tag in ("session", "predict", "prefetch", "explain"):
            self.model_lane.cancel(tag)
        self.info = None
        self.panel.show_status("Loading models…")
        self.panel.set_models_enabled(False)
        self.device_label.setText("Device: loading…")
        job = Job(jobs.load_models, self.session, self.device_choice, self.task_choice, name="load models",
                  tag="session", key=("session",))
        job.returned.connect(self._on_session)
        job.progressed.connect(self._on_progress)
        self.host.submit("models", job, PRIORITY["session"])

    @Slot(object)
    @gui_only
    def _on_session(self, info) -> None:
        if info is None:
            return
        self.info = info
        self.panel.set_models(info)
        if not info.cards:
            self.panel.show_status(self._no_models_text())
        elif info.errors:
            self.panel.show_status(f"{len(info.errors)} model(s) could not be loaded - see their columns.")
        else:
            self.panel.show_status("" if self.current else "Open an image to see the predictions.")
        self._update_tasks(info)
        self.device_label.setText(f"Device: {info.device_label}" + (" (auto)" if info.requested == "auto" else ""))
        self.device_actions["cuda"].setEnabled(info.cuda_available)
        if info.fallback:
            self.device_label.setText(f"Device: {info.device_label} (fallback)")
            self.statusBar().showMessage(info.fallback, 20000)
            self.device_label.setToolTip(info.fallback)
        else:
            self.statusBar().showMessage(f"{len(info.cards)} model(s) ready on {info.device_label}", 5000)
        from .workers import freeze_long_lived_objects

        freeze_long_lived_objects()  # torch and the models are loaded now
        self.sessionReady.emit(info)
        if self.current and self.current in self.cache.images:
            self._refresh_predictions(self.current)
            self._refresh_overlay()
        self._schedule_prefetch()

    def _no_models_text(self) -> str:
        from meddiag_desktop.core.paths import shipped_weights_dir

        return (f"No models installed. The shipped weights are missing from {shipped_weights_dir()} "
                "(see the README), or add your own models.")

    def _update_tasks(self, info) -> None:
        from PySide6.QtGui import QAction

        from meddiag_desktop.core.tasks import TASKS

        self.task_combo.clear()
        for action in self.task_group.actions():
            self.task_group.removeAction(action)
            self.task_menu.removeAction(action)
        for task in info.tasks:
            title = TASKS[task].title if task in TASKS else task
            self.task_combo.addItem(title, task)
            action = QAction(title, self, checkable=True)
            action.setChecked(task == info.task)
            action.triggered.connect(lambda _=False, t=task: self.set_task(t))
            self.task_group.addAction(action)
            self.task_menu.addAction(action)
        self.task_combo.setCurrentIndex(max(0, self.task_combo.findData(info.task)))
        several = len(info.tasks) > 1
        self.task_label_action.setVisible(several)
        self.task_combo_action.setVisible(several)
        self.task_menu.setEnabled(several)

    def set_task(self, task: str) -> None:
        if not task or (self.info is not None and task == self.info.task):
            return
        if not self._started:
            self.task_choice = self.settings.task = task
            return
        self.task_choice = self.settings.task = task
        self.load_models()

    def set_device(self, name: str) -> None:
        """auto | cpu | cuda (saved); reloads the models on it."""
        name = canonical_device(name)
        if name not in DEVICE_CHOICES:
            raise ValueError(name)
        if not self._started:
            self.device_choice = self.settings.device = name
            return
        self.device_actions[name].setChecked(True)
        if name == self.device_choice and self.info is not None:
            return
        self.device_choice = self.settings.device = name
        log.info("device set to %s", name)
        self.load_models()

    # ================================================================== files
    def open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder, IMAGE_FILTER)
        if paths:
            self.open_files(paths)

    def open_files(self, paths) -> list[str]:
        """Add files (a folder adds its files) to the list and show the first one."""
        paths = expand_paths(paths)
        if not paths or self.closed:
            return []
        self.start()
        added = self.file_list.add_paths(paths)
        self.settings.last_folder = os.path.dirname(paths[0])
        log.info("opened %d file(s)", len(added))
        self.file_list.select_path(paths[0])
        self.statusBar().showMessage(f"Opened {len(added)} file(s)", 3000)
        self._schedule_prefetch()
        return added

    def remove_current(self) -> None:
        path = self.file_list.current_path() if self.file_list is not None else None
        if path is None:
            return
        for job in self.host.jobs_in_flight():
            if len(job.key) > 1 and job.key[1] == path:
                job.cancel()
        self.cache.forget(path)
        self.file_list.remove_path(path)
        if not self.file_list.count():
            self._show("")

    # ------------------------------------------------------------------ helper windows (owned by this one)
    def open_scan_window(self) -> ScanWindow:
        """Show the (non-modal) scan window, creating it after a closed one; returns it."""
        from .scan_window import ScanWindow

        self.start()
        if self.scan_window is None or self.scan_window.closed:
            if self.scan_window is not None:
                self.scan_window.deleteLater()
            self.scan_window = ScanWindow(self.info, self.settings, self)
            self.sessionReady.connect(self.scan_window.set_session)
            self.scan_window.openRequested.connect(self.open_scan_result)
        return _raise(self.scan_window)

    def open_finetune(self) -> FineTuneDialog:
        """Models → Fine-tune…: one dialog, re-shown when open; activating a new version reloads the models."""
        from .finetune_dialog import FineTuneDialog

        if self.finetune_dialog is None:
            self.finetune_dialog = FineTuneDialog(store=self.store, parent=self, device=self.device_choice)
            self.finetune_dialog.activeModelsChanged.connect(self.load_models)
            self._link_model_windows()
        return _raise(self.finetune_dialog)

    def open_models_page(self) -> ModelsPage:
        """Models → Models…: one page, re-shown (and re-read) when open; a change of the active models
        reloads them here."""
        from .models_page import ModelsPage

        if self.models_page is None:
            self.models_page = ModelsPage(store=self.store, parent=self)
            self.models_page.activeModelsChanged.connect(self.load_models)
            self._link_model_windows()
        else:
            self.models_page.refresh()
        return _raise(self.models_page)

    def _link_model_windows(self) -> None:
        """Once both exist: a saved version shows on the page, the page's changes in the dialog's list."""
        if self.finetune_dialog is not None and self.models_page is not None:
            self.finetune_dialog.versionSaved.connect(lambda _id: self.models_page.refresh())
            self.models_page.activeModelsChanged.connect(self.finetune_dialog.refresh_models)

    def scan_folder_dialog(self) -> None:
        """File → Scan folder…: the scan window, then its folder dialog."""
        self.open_scan_window().choose_folders()

    @Slot(str)
    def open_scan_result(self, path: str) -> None:
        """A scan row was double-clicked: show that image here (the ordinary open-file path)."""
        self.open_files([path])
        self.raise_()
        self.activateWindow()

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    # ================================================================== showing one image
    @Slot(str)
    @gui_only
    def _show(self, path: str) -> None:
        self.current = path or None
        for job in self.model_lane.jobs("explain") + self.io_lane.jobs("load"):
            if job.key[1] != path:
                job.cancel()
        if not path:
            self.setWindowTitle("MedDiag Desktop")
            self._placeholder("Open images with Ctrl+O, or drop files here")
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
            return
        self.setWindowTitle(f"{_name(path)} — MedDiag Desktop")
        if path in self.cache.image_errors:
            self._placeholder(f"Cannot open {_name(path)}:\n{self.cache.image_errors[path]}")
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
        elif path in self.cache.images:
            self.cache.images.move_to_end(path)
            self._display(path, self.cache.images[path])
        else:
            # The previous image and its results stay until this one is read (usually a few ms): no
            # flash, and no costly swap of the image view for the placeholder.
            if self.viewer_stack.currentWidget() is self.placeholder:
                self._placeholder(f"Loading {_name(path)}…")
            self.statusBar().showMessage(f"Loading {_name(path)}…", 2000)
            if self.host.in_flight(("load", path)) is None:
                from .workers import Job

                job = Job(jobs.open_image, path, name="open image", tag="load", key=("load", path))
                job.returned.connect(lambda loaded, p=path: self._on_image_loaded(p, loaded))
                self.host.submit("io", job, 0)

    def _back_to_placeholder(self) -> None:
        if self.viewer is not None and not self.viewer.has_image:
            self.viewer_stack.setCurrentWidget(self.placeholder)

    def _placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.viewer_stack.setCurrentWidget(self.placeholder)

    @gui_only
    def _on_image_loaded(self, path: str, loaded) -> None:
        self.cache.images.put(path, loaded, keep=self.current)
        if path == self.current:
            self._display(path, loaded)

    @gui_only
    def _on_image_failed(self, path: str, error: JobError) -> None:
        self.cache.image_errors[path] = error.message
        self.file_list.set_state(path, "error", error.message)
        if path == self.current:
            self._placeholder(f"Cannot open {_name(path)}:\n{error.message}")
            self.statusBar().clearMessage()
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
            self.report_error("Cannot open image", f"{_name(path)}: {error.message}", error.details)

    @gui_only
    def _display(self, path: str, loaded) -> None:
        viewer = self._ensure_viewer()
        viewer.set_image(loaded)
        if self.viewer_stack.currentWidget() is not viewer:
            self.viewer_stack.setCurrentWidget(viewer)
        self.statusBar().clearMessage()
        self.panel.set_image_info(loaded.meta)
        if self.info is not None and self.info.cards:
            self.panel.show_status("")
        self._refresh_predictions(path)
        self._refresh_overlay()

    # ================================================================== predictions
    def model_ids(self) -> list[str]:
        if self.info is None:
            return []
        return [c.id for c in self.info.cards if c.id not in self.info.errors]

    def predictions_complete(self, path: str) -> bool:
        return self.cache.complete(path, self.model_ids())

    def _refresh_predictions(self, path: str) -> None:
        if self.info is None:
            self.panel.clear_results(pending=False)
            return
        missing = []
        for card_id in self.model_ids():
            result = self.cache.results.get((path, card_id))
            if result is None:
                self.panel.columns[card_id].set_pending()
                missing.append(card_id)
            elif isinstance(result, PredictionFailure):
                self.panel.show_failure(card_id, result.text)
            else:
                self.panel.show_prediction(card_id, result)
        if missing:
            self._request_predictions(path, missing, self.cache.images[path].array, "predict")

    def _request_predictions(self, path: str, card_ids, image, tag: str) -> None:
        key = ("predict", path)
        running = self.host.in_flight(key)
        if running is not None:
            if not (tag == "predict" and running.tag == "prefetch" and running.state == "queued"):
                return
            running.cancel()  # promote a queued prefetch to an immediate prediction
        from .workers import Job

        job = Job(jobs.predict, self.session, path, image, tuple(card_ids), name="predict", tag=tag, key=key)
        job.yielded.connect(self._on_prediction_event)
        if tag == "prefetch":
            job.finished.connect(self._pump_prefetch)
        self.host.submit("models", job, PRIORITY[tag])

    def _schedule_prefetch(self) -> None:
        """Predict the other listed files in the background (lowest priority), to fill the cache.
        At most PREFETCH_AHEAD jobs exist at a time: opening 1000 files creates no 1000 jobs."""
        self.cache.queue_prefetch(self.file_list.paths() if self.file_list else [], self.current)
        self._pump_prefetch()

    def _pump_prefetch(self) -> None:
        ids = self.model_ids()
        if not ids or self.closed:
            return
        while len(self.model_lane.jobs("prefetch")) < PREFETCH_AHEAD:
            todo = self.cache.next_prefetch(ids, busy=lambda path: self.host.in_flight(("predict", path)) is not None)
            if todo is None:
                return
            self._request_predictions(*todo, None, "prefetch")

    @Slot(object)
    @gui_only
    def _on_prediction_event(self, event: jobs.Prediction | jobs.PredictionFailed) -> None:
        self.cache.record(event)
        if isinstance(event, jobs.PredictionFailed) and event.model is None:
            self.file_list.set_state(event.path, "error", event.error)
            return
        if event.path == self.current:
            result = self.cache.results[(event.path, event.model)]
            if isinstance(result, PredictionFailure):
                self.panel.show_failure(event.model, result.text)
            else:
                self.panel.show_prediction(event.model, result)
        if self.info is not None and self.predictions_complete(event.path):
            self.file_list.set_state(event.path, "done", self.cache.summary(event.path, self.info.cards))
        self.predictionsUpdated.emit(event.path)

    # ================================================================== heat-map
    @Slot(bool)
    def set_overlay_enabled(self, enabled: bool) -> None:
        self.overlay_enabled = bool(enabled)
        self.settings.overlay_visible = self.overlay_enabled
        if not self._started:
            return
        for widget in (self.overlay_action, self.panel.overlay_check):
            widget.blockSignals(True)
            widget.setChecked(self.overlay_enabled)
            widget.blockSignals(False)
        if self.viewer is not None:
            self.viewer.set_overlay_enabled(self.overlay_enabled)
        self._refresh_overlay()

    @Slot(float)
    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = min(1.0, max(0.0, float(opacity)))
        self.settings.overlay_opacity = self.overlay_opacity
        if self.panel is not None and round(self.panel.opacity_slider.value()) != round(100 * self.overlay_opacity):
            self.panel.set_opacity(self.overlay_opacity)
        if self.viewer is not None:
            self.viewer.set_overlay_opacity(self.overlay_opacity)

    @Slot()
    @gui_only
    def _refresh_overlay(self) -> None:
        from .display_names import METHOD_NAMES, family_name
        from .workers import Job

        if self.panel is None:
            return
        choice = self.panel.explain_choice()
        path = self.current
        if (not self.overlay_enabled or choice is None or self.viewer is None or path is None
                or path not in self.cache.images or self.info is None):
            self.model_lane.cancel("explain")
            self.panel.set_explain_caption("")
            return
        card_id, method = choice
        key = (path, card_id, method)
        heat = self.cache.heatmaps.get(key)
        arch = next((c.config.arch for c in self.info.cards if c.id == card_id), "")
        if heat is not None:
            if self.viewer.heatmap_key != key:
                self.viewer.set_heatmap(heat.heatmap, key, indices=heat.overlay)
            caption = f"{METHOD_NAMES.get(method, method)} of the {family_name(arch)} for “{heat.target_label}”"
            if not float(heat.heatmap.max()) > 0.0:
                caption += ": empty map (no region raised this prediction)"
            self.panel.set_explain_caption(caption)
            self.overlayUpdated.emit()
            return
        if self.viewer.heatmap_key != key:
            self.viewer.set_heatmap(None)
        for job in self.model_lane.jobs("explain"):
            if job.key[1:] != key:
                job.cancel()
        self.panel.set_explain_caption(f"Computing {METHOD_NAMES.get(method, method)}…")
        if self.host.in_flight(("explain", *key)) is None:
            job = Job(jobs.explain_image, self.session, path, self.cache.images[path].array, card_id, method,
                      name="explain", tag="explain", key=("explain", *key))
            job.returned.connect(self._on_heatmap)
            job.progressed.connect(self._on_progress)
            self.host.submit("models", job, PRIORITY["explain"])

    @Slot(object)
    @gui_only
    def _on_heatmap(self, heat: HeatMap) -> None:
        self.cache.heatmaps.put((heat.path, heat.model, heat.method), heat)
        if heat.path == self.current:
            self._refresh_overlay()

    # ================================================================== view actions
    def fit(self) -> None:
        if self.viewer is not None:
            self.viewer.fit()

    def zoom(self, factor: float) -> None:
        if self.viewer is not None:
            self.viewer.zoom(factor)

    def reset_levels(self) -> None:
        if self.viewer is not None:
            self.viewer.reset_levels()

    def about(self) -> None:
        from . import dialogs

        dialogs.about(self, "About MedDiag Desktop",
                          f"<b>MedDiag Desktop {__version__}</b><p>Offline diagnostic assistant for medical "
                          f"images.</p><p><b>{NOTICE_TEXT}</b></p><p>Models run on this computer; no image "
                          "leaves it. Patient identifiers in DICOM files are never read.</p>")

    # ================================================================== jobs, errors, shutdown
    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.text:
            self.job_status.setText(progress.text)

    @Slot(bool)
    def _on_models_busy(self, busy: bool) -> None:
        self.job_status.setText("Working…" if busy else "")

    def _on_job_error(self, job: Job, error: JobError) -> None:
        """Every job's failure (JobHost): an unreadable image, the models, a prediction, a heat-map..."""
        if job.tag == "load":
            self._on_image_failed(job.key[1], error)
            return
        title = ERROR_TITLES.get(job.tag)
        if title is None:
            return
        if job.tag == "session":
            self.panel.show_status(f"{title}: {error.message}")
            self.device_label.setText("Device: –")
        self.report_error(title, error.message, error.details)

    @gui_only
    def report_error(self, title: str, message: str, details: str = "") -> None:
        """Readable message box (details behind a button); never blocks the event loop."""
        log.error("%s: %s", title, message)
        self.errorReported.emit(title, message, details)
        if not self.closed:
            from . import dialogs

            dialogs.error_box(self, title, message, details)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        """Cancel every job, join the threads and close the helper windows (theirs too). Idempotent."""
        self.host.shutdown()
        if self.scan_window is not None:
            self.scan_window.shutdown()  # cancels a running scan, joins its lane
        for child in (self.finetune_dialog, self.models_page):
            if child is not None:
                child.shutdown()
                child.close()

    def closeEvent(self, event) -> None:
        if not self.closed:
            self._save_settings()
            self.hide()  # feels instant even if a model op must finish first
            self.shutdown()
        event.accept()
