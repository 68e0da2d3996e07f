"""The main window: file list | image view | predictions panel, menus, status bar.

Start-up keeps the first paint cheap. ``__init__`` builds only a light shell (banner, menu titles,
splitter with placeholders, status bar) from a few PySide6 classes - even importing Qt's ``Qt``
namespace costs ~50 ms. After the first paint ``start()`` builds the rest (file list, predictions
panel, actions), queues "load models" (torch, in the models lane) and then builds the pyqtgraph
image view. Background work goes through the window's ``JobHost`` and its two lanes:

* ``io``     - reading image files, so an image shows even while models load or explain;
* ``models`` - loading models, predictions, explanations and background prefetch (by priority),
both driven by ``viewer_session.ViewerSession`` (the window is the layout and the chrome).

All results arrive through ``Job`` signals, i.e. in the GUI thread; caches are keyed by
(file, model) and (file, model, method), so switching back to an image is instant. Menus and
toolbar: ``actions.MainActions``; the helper windows: ``child_windows.ChildWindows``.
"""
from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QSplitter, QVBoxLayout, QWidget

from .core_text import core_text
from .i18n import translate
from ..core.device import DEVICE_CHOICES, canonical_device
from .child_windows import ChildWindows
from .guard import gui_only
from .image_area import ImageArea, file_name
from .job_host import JobHost
from .jobs import viewer as jobs
from .settings import Settings
from .style import NOTICE_TEXT, apply_theme
from .viewer_cache import ViewerCache
from .window_size import resize_to_fit

if TYPE_CHECKING:
    from PySide6.QtWidgets import QScrollArea

    from .actions import MainActions
    from .file_list import FileList
    from .finetune_dialog import FineTuneDialog
    from .image_view import ImageViewer
    from .jobs.viewer import SessionInfo
    from .models_page import ModelsPage
    from .predictions import PredictionsPanel
    from .scan_window import ScanWindow
    from .viewer_session import ViewerSession
    from .workers import Job, JobError, JobRunner, Progress

log = logging.getLogger(__name__)

IMAGE_FILTER = (QT_TRANSLATE_NOOP("MainWindow", "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.webp *.jp2 *.j2k *.pgm *.ppm *.pnm "
                "*.dcm *.dicom *.ima);;DICOM (*.dcm *.dicom *.ima);;All files (*)"))
ERROR_TITLES = {"session": QT_TRANSLATE_NOOP("MainWindow", "Could not load the models"), "predict": QT_TRANSLATE_NOOP("MainWindow", "Prediction failed"), "prefetch": QT_TRANSLATE_NOOP("MainWindow", "Prediction failed"),
                "explain": QT_TRANSLATE_NOOP("MainWindow", "Heat-map failed"), "report": QT_TRANSLATE_NOOP("MainWindow", "Could not export the report"), "dicom": QT_TRANSLATE_NOOP("MainWindow", "Could not write the DICOM results")}  # by job tag; not warm-ups


class MainWindow(QMainWindow):
    sessionReady = Signal(object)  # jobs.viewer.SessionInfo
    predictionsUpdated = Signal(str)  # path whose results changed
    overlayUpdated = Signal()  # a heat-map was put on the image
    errorReported = Signal(str, str, str)  # title, message, details (also shown as a dialog)
    viewerReady = Signal()
    reportExported = Signal(str)  # PDF written by File → Export report… (qt/report.py)
    dicomExported = Signal(object)  # DicomOutput list of File → Export DICOM results… (qt/dicom_export.py)

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
        self.io_lane: JobRunner | None = None
        self.model_lane: JobRunner | None = None
        self.cache = ViewerCache()  # images, predictions, heat-maps, prefetch queue
        # built by start(), after the first paint
        self.file_list: FileList | None = None
        self.panel: PredictionsPanel | None = None
        self.session: ViewerSession | None = None
        self.menu_actions: MainActions | None = None
        self.panel_scroll: QScrollArea | None = None
        self.job_status: QLabel | None = None  # what the models lane is doing
        self._started = False
        self.child_windows = ChildWindows(self, store, self.settings)  # each created on first use
        self.child_windows.activeModelsChanged.connect(self.load_models)
        self.child_windows.openRequested.connect(self.open_scan_result)

        self.setWindowTitle(self.tr("MedDiag Desktop"))
        self.setAcceptDrops(True)
        apply_theme(self.settings.theme)  # the application's palette + style sheet
        self._build_shell()

    # ================================================================== building
    def _build_shell(self) -> None:
        """What the first paint shows; start() fills in the rest."""
        self.notice = QLabel("⚠  " + translate("Style", NOTICE_TEXT))
        self.notice.setObjectName("noticeBanner")
        self.notice.setToolTip(self.tr("The models are research prototypes: every finding must be confirmed by a "
                               "qualified clinician."))
        self.image_area = ImageArea(self.settings.overlay_visible, self.settings.overlay_opacity)
        list_stub, panel_stub = QListWidget(), QLabel(self.tr("Loading models…"))
        list_stub.setMinimumWidth(150)
        panel_stub.setObjectName("panelStub")
        panel_stub.setMinimumWidth(420)
        self.splitter = QSplitter()  # horizontal
        for widget in (list_stub, self.image_area, panel_stub):
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
        self.menus = {name: self.menuBar().addMenu(translate("MainWindow", name)) for name in (QT_TRANSLATE_NOOP("MainWindow", "&File"), QT_TRANSLATE_NOOP("MainWindow", "&View"), QT_TRANSLATE_NOOP("MainWindow", "&Settings"), QT_TRANSLATE_NOOP("MainWindow", "&Help"))}
        self.toolbar = self.addToolBar(self.tr("Main"))
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.device_label = QLabel(self.tr("Device: –"))
        self.device_label.setToolTip(self.tr("Where the models run (Settings → Device)"))
        self.statusBar().addPermanentWidget(self.device_label)
        geometry = self.settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
            resize_to_fit(self, 1440, 900)

    def _build_rest(self) -> None:
        from PySide6.QtWidgets import QScrollArea

        from .actions import MainActions
        from .file_list import FileList
        from .predictions import PredictionsPanel
        from .viewer_session import ViewerSession

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
        self.panel.show_status(self.tr("Loading models…"))
        self.session = ViewerSession(self.store, self.host, self.cache, self.image_area, self.panel, self.file_list,
                                     self.statusBar(), self)
        self.session.sessionLoaded.connect(self._on_session)
        self.session.predictionsUpdated.connect(self.predictionsUpdated)
        self.session.overlayUpdated.connect(self.overlayUpdated)
        self.session.progressed.connect(self._on_progress)
        self.session.errorOccurred.connect(self.report_error)
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
        self.menu_actions = MainActions(self)
        self.set_overlay_enabled(self.overlay_enabled)  # the saved choice in the menu and the panel

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
        """Build the rest of the window and the image view, then load the models (worker).
        Runs once, right after the first paint (or on first use)."""
        if self._started or self.closed:
            return
        self._started = True
        self._build_rest()
        # The image view first, alone: pyqtgraph takes ~0.4 s to import, here in the GUI thread (imported
        # in a worker it made PySide6 create its enum types while the GUI thread ran: a rare segfault;
        # beside the models' torch import it took ~1 s).
        self._build_viewer()
        self.load_models()
        # Import the image readers (pydicom, Pillow) in the io lane now rather than on the first open.
        from .workers import Job

        self.host.submit("io", Job(jobs.warm_up_io, name="warm up", tag="warm-up", key=("warm-up",)), -1)

    @property
    def viewer(self) -> ImageViewer | None:
        """The image view (None until pyqtgraph is imported, after the first paint)."""
        return self.image_area.viewer

    def _build_viewer(self) -> None:
        if self.image_area.viewer is None and not self.closed:
            self.image_area.ensure_viewer(paint_now=self.current is None)
            self.viewerReady.emit()

    # ================================================================== models
    @property
    def info(self) -> SessionInfo | None:
        """The loaded models (None while they load)."""
        return self.session.info if self.session is not None else None

    @property
    def current(self) -> str | None:
        """The file on screen."""
        return self.session.current if self.session is not None else None

    def load_models(self) -> None:
        """(Re)load the models of the chosen task on the chosen device, in the models lane."""
        self.device_label.setText(self.tr("Device: loading…"))
        self.session.load(self.device_choice, self.task_choice)

    @Slot(object)
    @gui_only
    def _on_session(self, info) -> None:
        self.menu_actions.set_tasks(info.tasks, info.task)
        self.device_label.setText(self.tr("Device: {device_label}").format(device_label=info.device_label) + (self.tr(" (auto)") if info.requested == "auto" else ""))
        self.menu_actions.device_actions["cuda"].setEnabled(info.cuda_available)
        if info.fallback:
            self.device_label.setText(self.tr("Device: {device_label} (fallback)").format(device_label=info.device_label))
            self.statusBar().showMessage(info.fallback, 20000)
            self.device_label.setToolTip(info.fallback)
        else:
            self.statusBar().showMessage(self.tr("{len} model(s) ready on {device_label}").format(len=len(info.cards), device_label=info.device_label), 5000)
        self.child_windows.set_session(info)
        self.sessionReady.emit(info)  # then the session shows the current file's predictions

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
        self.menu_actions.device_actions[name].setChecked(True)
        if name == self.device_choice and self.info is not None:
            return
        self.device_choice = self.settings.device = name
        log.info("device set to %s", name)
        self.load_models()

    # ================================================================== files
    def open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Open images"), self.settings.last_folder, translate("MainWindow", IMAGE_FILTER))
        if paths:
            self.open_files(paths)

    def open_files(self, paths) -> list[str]:
        """Add files (a folder adds its files) to the list and show the first one."""
        from .file_list import expand_paths

        paths = expand_paths(paths)
        if not paths or self.closed:
            return []
        self.start()
        added = self.file_list.add_paths(paths)
        self.settings.last_folder = os.path.dirname(paths[0])
        log.info("opened %d file(s)", len(added))
        self.file_list.select_path(paths[0])
        self.statusBar().showMessage(self.tr("Opened {len} file(s)").format(len=len(added)), 3000)
        self.session.schedule_prefetch()
        return added

    def remove_current(self) -> None:
        path = self.file_list.current_path() if self.file_list is not None else None
        if path is None:
            return
        self.session.forget(path)
        self.file_list.remove_path(path)
        if not self.file_list.count():
            self._show("")

    # ------------------------------------------------------------------ helper windows (owned by this one)
    def open_scan_window(self) -> ScanWindow:
        """File → Scan folder…: the (non-modal) scan window with this window's models."""
        self.start()
        return self.child_windows.open_scan_window(self.info)

    def open_finetune(self) -> FineTuneDialog:
        """Models → Fine-tune…: one dialog; activating a new version reloads the models."""
        return self.child_windows.open_finetune(self.device_choice)

    def open_models_page(self) -> ModelsPage:
        """Models → Models…: one page; a change of the active models reloads them here."""
        return self.child_windows.open_models_page()

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
        self.setWindowTitle(self.tr("{file_name} — MedDiag Desktop").format(file_name=file_name(path)) if path else self.tr("MedDiag Desktop"))
        self.session.show_file(path)

    # ================================================================== predictions
    def predictions_complete(self, path: str) -> bool:
        return self.cache.complete(path, self.session.model_ids() if self.session is not None else [])

    # ================================================================== heat-map
    @property
    def overlay_enabled(self) -> bool:
        return self.image_area.overlay_enabled

    @property
    def overlay_opacity(self) -> float:
        return self.image_area.overlay_opacity

    @Slot(bool)
    def set_overlay_enabled(self, enabled: bool) -> None:
        self.image_area.set_overlay_enabled(bool(enabled))
        self.settings.overlay_visible = self.overlay_enabled
        if not self._started:
            return
        self.menu_actions.set_overlay_checked(self.overlay_enabled)
        self.panel.overlay_check.blockSignals(True)
        self.panel.overlay_check.setChecked(self.overlay_enabled)
        self.panel.overlay_check.blockSignals(False)
        self._refresh_overlay()

    @Slot(float)
    def set_overlay_opacity(self, opacity: float) -> None:
        self.image_area.set_overlay_opacity(min(1.0, max(0.0, float(opacity))))
        self.settings.overlay_opacity = self.overlay_opacity
        if self.panel is not None and round(self.panel.opacity_slider.value()) != round(100 * self.overlay_opacity):
            self.panel.set_opacity(self.overlay_opacity)

    @Slot()
    @gui_only
    def _refresh_overlay(self) -> None:
        if self.session is not None:
            self.session.show_heatmap()

    # ================================================================== jobs, errors, shutdown
    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.text:
            self.job_status.setText(core_text(progress.text))

    @Slot(bool)
    def _on_models_busy(self, busy: bool) -> None:
        self.job_status.setText(self.tr("Working…") if busy else "")

    def _on_job_error(self, job: Job, error: JobError) -> None:
        """Every job's failure (JobHost): an unreadable image, the models, a prediction, a heat-map..."""
        if job.tag == "load":
            self.session.image_failed(job.key[1], error)
            return
        if job.tag not in ERROR_TITLES:
            return
        title = translate("MainWindow", ERROR_TITLES[job.tag])
        if job.tag == "session":
            self.panel.show_status(f"{title}: {error.message}")
            self.device_label.setText(self.tr("Device: –"))
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
        self.child_windows.shutdown()

    def closeEvent(self, event) -> None:
        if not self.closed:
            self._save_settings()
            self.hide()  # feels instant even if a model op must finish first
            self.shutdown()
        event.accept()
