"""The main window: file list | image view | predictions panel, menus, status bar.

Start-up order keeps the first paint cheap: this module imports only PySide6 and light modules;
after the first paint ``start()`` queues "load models" (torch, in the models lane) and builds the
pyqtgraph image view. Background work goes through two ``JobRunner`` lanes:

* ``io``     - reading image files, so an image shows even while models load or explain;
* ``models`` - loading models, predictions, explanations and background prefetch (by priority).

All results arrive through ``Job`` signals, i.e. in the GUI thread; caches are keyed by
(file, model) and (file, model, method), so switching back to an image is instant.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QScrollArea, QSplitter,
    QStackedWidget, QToolBar, QVBoxLayout, QWidget,
)

from .. import __version__
from . import dialogs, engine
from .engine import METHOD_NAMES, HeatMap, ModelSession, Prediction, PredictionFailed, family_name
from .file_list import FileList
from .predictions import PredictionsPanel
from .settings import Settings
from .style import NOTICE_TEXT, STYLE_SHEET
from .workers import Job, JobError, JobRunner, Progress, gui_only

log = logging.getLogger(__name__)

IMAGE_FILTER = ("Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.webp *.jp2 *.j2k *.pgm *.ppm *.pnm "
                "*.dcm *.dicom *.ima);;DICOM (*.dcm *.dicom *.ima);;All files (*)")
MAX_FOLDER_FILES = 1000
PRIORITY = {"session": 100, "predict": 50, "explain": 40, "prefetch": 0}


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


class _LRU(OrderedDict):
    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key, value, keep=None) -> None:
        self[key] = value
        self.move_to_end(key)
        for old in list(self):
            if len(self) <= self.capacity:
                break
            if old != key and old != keep:
                del self[old]


class MainWindow(QMainWindow):
    sessionReady = Signal(object)  # engine.SessionInfo
    predictionsUpdated = Signal(str)  # path whose results changed
    overlayUpdated = Signal()  # a heat-map was put on the image
    errorReported = Signal(str, str, str)  # title, message, details (also shown as a dialog)
    viewerReady = Signal()

    def __init__(self, store=None, settings: Settings | None = None, device: str | None = None,
                 task: str | None = None, dialogs_enabled: bool = True, parent: QWidget | None = None) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models).
        ``device`` / ``task`` override the saved settings for this run without being saved."""
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.dialogs_enabled = dialogs_enabled
        self.device_choice = device or self.settings.device
        self.task_choice = task or self.settings.task
        self.session = ModelSession(store)  # used only by jobs on the models lane
        self.info: engine.SessionInfo | None = None
        self.io_lane = JobRunner("io", self)
        self.model_lane = JobRunner("models", self)
        self.model_lane.busyChanged.connect(self._on_models_busy)
        self.current: str | None = None
        self.images = _LRU(16)  # path -> core.io.LoadedImage
        self.image_errors: dict[str, str] = {}
        self.results: dict[tuple[str, str], object] = {}  # (path, model id) -> Result | error text
        self.heatmaps = _LRU(32)  # (path, model id, method) -> engine.HeatMap
        self._inflight: dict[tuple, Job] = {}
        self.viewer = None  # image_view.ImageViewer, built after the first paint
        self._started = False
        self._closed = False
        self.overlay_enabled = self.settings.overlay_visible
        self.overlay_opacity = self.settings.overlay_opacity

        self.setWindowTitle("MedDiag Desktop")
        self.setAcceptDrops(True)
        self.setStyleSheet(STYLE_SHEET)
        self._build_ui()
        self._build_actions()
        self._restore_settings()

    # ================================================================== building
    def _build_ui(self) -> None:
        self.notice = QLabel(f"⚠  {NOTICE_TEXT}")
        self.notice.setObjectName("noticeBanner")
        self.notice.setToolTip("The models are research prototypes: every finding must be confirmed by a "
                               "qualified clinician.")
        self.file_list = FileList()
        self.file_list.currentPathChanged.connect(self._show)
        self.placeholder = QLabel("Open images with Ctrl+O, or drop files here")
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.viewer_stack = QStackedWidget()
        self.viewer_stack.addWidget(self.placeholder)
        self.viewer_stack.setMinimumWidth(320)
        self.panel = PredictionsPanel()
        self.panel.overlayToggled.connect(self.set_overlay_enabled)
        self.panel.overlayOpacityChanged.connect(self.set_overlay_opacity)
        self.panel.explainChoiceChanged.connect(self._refresh_overlay)
        self.panel.set_opacity(self.overlay_opacity)
        self.panel.show_status("Loading models…")
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(420)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.file_list)
        self.splitter.addWidget(self.viewer_stack)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([220, 640, 580])
        self.splitter.setChildrenCollapsible(False)
        self.file_list.setMinimumWidth(150)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.job_progress = QProgressBar()
        self.job_progress.setObjectName("jobProgress")
        self.job_progress.setRange(0, 0)
        self.job_progress.setTextVisible(False)
        self.job_progress.hide()
        self.device_label = QLabel("Device: –")
        self.device_label.setToolTip("Where the models run (Settings → Device)")
        self.statusBar().addPermanentWidget(self.job_progress)
        self.statusBar().addPermanentWidget(self.device_label)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work even with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        Key = QKeySequence.StandardKey
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence(Key.Open),
                                        "Open one or more images (PNG, JPEG, TIFF, BMP, DICOM…)")
        self.remove_action = self._action("&Remove from list", self.remove_current, QKeySequence(Key.Delete),
                                          "Remove the selected image from the list")
        self.quit_action = self._action("&Quit", self.close, QKeySequence("Ctrl+Q"), "Quit MedDiag Desktop")
        self.fit_action = self._action("&Fit to window", self.fit, QKeySequence("F"), "Fit the image to the window (F)")
        self.zoom_in_action = self._action("Zoom &in", lambda: self._zoom(1.25),
                                           [QKeySequence(Key.ZoomIn), QKeySequence("+")], "Zoom in (+)")
        self.zoom_out_action = self._action("Zoom &out", lambda: self._zoom(0.8),
                                            [QKeySequence(Key.ZoomOut), QKeySequence("-")], "Zoom out (-)")
        self.reset_wl_action = self._action("&Reset window/level", self._reset_levels, QKeySequence("R"),
                                            "Back to the image's own window/level (R)")
        self.overlay_action = self._action("Show &heat-map", self.set_overlay_enabled, QKeySequence("H"),
                                           "Overlay the selected model's heat-map (H)", checkable=True)
        self.overlay_action.setChecked(self.overlay_enabled)
        self.next_action = self._action("&Next image", lambda: self.file_list.step(1),
                                        QKeySequence(Qt.Key.Key_PageDown), "Next image (Page Down)")
        self.prev_action = self._action("&Previous image", lambda: self.file_list.step(-1),
                                        QKeySequence(Qt.Key.Key_PageUp), "Previous image (Page Up)")

        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.open_action)
        samples = menu.addMenu("Open &sample")
        samples.setToolTipsVisible(True)
        from meddiag_desktop.core.paths import resource_path  # platformdirs only

        sample_dir = resource_path("samples")
        for sample in sorted(sample_dir.glob("*")) if sample_dir.is_dir() else []:
            if sample.is_file() and not sample.name.startswith("."):
                samples.addAction(sample.name, lambda _=False, p=str(sample): self.open_files([p]))
        samples.setEnabled(not samples.isEmpty())
        menu.addAction(self.remove_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)

        menu = self.menuBar().addMenu("&View")
        for action in (self.fit_action, self.zoom_in_action, self.zoom_out_action, self.reset_wl_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.overlay_action)
        menu.addSeparator()
        menu.addAction(self.next_action)
        menu.addAction(self.prev_action)

        menu = self.menuBar().addMenu("&Settings")
        device_menu = menu.addMenu("&Device")
        device_menu.setToolTipsVisible(True)
        self.device_group = QActionGroup(self)
        self.device_actions: dict[str, QAction] = {}
        for name, text, tip in (("auto", "&Auto", "GPU when one is available, else CPU"),
                                ("cpu", "&CPU", "Always run the models on the CPU"),
                                ("gpu", "&GPU (CUDA)", "Run the models on the CUDA GPU")):
            action = QAction(text, self, checkable=True)
            action.setToolTip(tip)
            action.setData(name)
            action.triggered.connect(lambda _=False, n=name: self.set_device(n))
            self.device_group.addAction(action)
            device_menu.addAction(action)
            self.device_actions[name] = action
        self.device_actions["gpu"].setEnabled(False)  # until the models lane knows CUDA is there
        self.device_actions.get(self.device_choice, self.device_actions["auto"]).setChecked(True)
        self.task_menu = menu.addMenu("&Task")
        self.task_group = QActionGroup(self)

        menu = self.menuBar().addMenu("&Help")
        menu.addAction("&About MedDiag Desktop", self._about)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.addAction(self.open_action)
        toolbar.addAction(self.fit_action)
        toolbar.addAction(self.reset_wl_action)
        toolbar.addAction(self.overlay_action)
        toolbar.addSeparator()
        self.task_label = QLabel(" Task: ")
        self.task_combo = QComboBox()
        self.task_combo.setToolTip("Diagnostic task: which models are shown")
        self.task_combo.setMinimumContentsLength(18)
        self.task_combo.activated.connect(lambda i: self.set_task(self.task_combo.itemData(i)))
        self.task_label_action = toolbar.addWidget(self.task_label)
        self.task_combo_action = toolbar.addWidget(self.task_combo)
        self.task_label_action.setVisible(False)
        self.task_combo_action.setVisible(False)
        self.addToolBar(toolbar)

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1440, 900)
        state = self.settings.splitter_state
        if state is not None:
            self.splitter.restoreState(state)

    def _save_settings(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter_state = self.splitter.saveState()
        self.settings.overlay_opacity = self.overlay_opacity
        self.settings.overlay_visible = self.overlay_enabled
        self.settings.sync()

    # ================================================================== start-up
    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and not self._started:
            QTimer.singleShot(0, self.start)  # first paint done: now the slow parts
        elif event.type() == QEvent.Type.Show and not self._started:
            QTimer.singleShot(500, self.start)  # in case no paint event ever comes (hidden tests)
        return handled

    def start(self) -> None:
        """Load the models (worker) and build the image view; called once after the first paint."""
        if self._started or self._closed:
            return
        self._started = True
        self.load_models()
        # Import the image readers (pydicom, Pillow) in the io lane now rather than on the first open.
        self._submit(self.io_lane, ("warm-up",), Job(engine.warm_up_io, name="warm up", tag="warm-up"), -1)
        QTimer.singleShot(0, self._ensure_viewer)

    def _ensure_viewer(self):
        if self.viewer is None and not self._closed:
            from .image_view import ImageViewer  # pyqtgraph: ~1 s, kept off the first paint

            self.viewer = ImageViewer()
            self.viewer.set_overlay_opacity(self.overlay_opacity)
            self.viewer.set_overlay_enabled(self.overlay_enabled)
            self.viewer_stack.addWidget(self.viewer)
            self.viewerReady.emit()
        return self.viewer

    # ================================================================== models
    def load_models(self) -> None:
        """(Re)load the models of the chosen task on the chosen device, in the models lane."""
        for tag in ("session", "predict", "prefetch", "explain"):
            self.model_lane.cancel(tag)
        self.info = None
        self.panel.show_status("Loading models…")
        self.panel.set_models_enabled(False)
        self.device_label.setText("Device: loading…")
        job = Job(engine.load_models, self.session, self.device_choice, self.task_choice, name="load models",
                  tag="session")
        job.returned.connect(self._on_session)
        job.errored.connect(lambda err: self._on_job_error("Could not load the models", err))
        job.progressed.connect(self._on_progress)
        self._submit(self.model_lane, ("session",), job, PRIORITY["session"])

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
        self.device_actions["gpu"].setEnabled(info.cuda_available)
        if info.fallback:
            self.device_label.setText(f"Device: {info.device_label} (fallback)")
            self.statusBar().showMessage(info.fallback, 20000)
            self.device_label.setToolTip(info.fallback)
        else:
            self.statusBar().showMessage(f"{len(info.cards)} model(s) ready on {info.device_label}", 5000)
        self.sessionReady.emit(info)
        if self.current and self.current in self.images:
            self._refresh_predictions(self.current)
            self._refresh_overlay()
        self._schedule_prefetch()

    def _no_models_text(self) -> str:
        from meddiag_desktop.core.paths import shipped_weights_dir

        return (f"No models installed. The shipped weights are missing from {shipped_weights_dir()} "
                "(see the README), or add your own models.")

    def _update_tasks(self, info) -> None:
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
        self.task_choice = self.settings.task = task
        self.load_models()

    def set_device(self, name: str) -> None:
        """auto | cpu | gpu (saved); reloads the models on it."""
        if name not in engine.DEVICE_CHOICES:
            raise ValueError(name)
        self.device_actions[name].setChecked(True)
        if name == self.device_choice and self.info is not None:
            return
        self.device_choice = self.settings.device = name
        log.info("device set to %s", name)
        self.load_models()

    # ================================================================== files
    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder, IMAGE_FILTER)
        if paths:
            self.open_files(paths)

    def open_files(self, paths) -> list[str]:
        """Add files (a folder adds its files) to the list and show the first one."""
        paths = expand_paths(paths)
        if not paths:
            return []
        added = self.file_list.add_paths(paths)
        self.settings.last_folder = os.path.dirname(paths[0])
        log.info("opened %d file(s)", len(added))
        self.file_list.select_path(paths[0])
        self.statusBar().showMessage(f"Opened {len(added)} file(s)", 3000)
        self._schedule_prefetch()
        return added

    def remove_current(self) -> None:
        path = self.file_list.current_path()
        if path is None:
            return
        for key in [k for k in self._inflight if len(k) > 1 and k[1] == path]:
            self._inflight[key].cancel()
        self.images.pop(path, None)
        self.image_errors.pop(path, None)
        for cache in (self.results, self.heatmaps):
            for key in [k for k in cache if k[0] == path]:
                del cache[key]
        self.file_list.remove_path(path)
        if not self.file_list.count():
            self._show("")

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
        if path in self.image_errors:
            self._placeholder(f"Cannot open {_name(path)}:\n{self.image_errors[path]}")
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
        elif path in self.images:
            self.images.move_to_end(path)
            self._display(path, self.images[path])
        else:
            self._placeholder(f"Loading {_name(path)}…")
            self.panel.clear_results(pending=False)
            if ("load", path) not in self._inflight:
                job = Job(engine.open_image, path, name="open image", tag="load")
                job.returned.connect(lambda loaded, p=path: self._on_image_loaded(p, loaded))
                job.errored.connect(lambda err, p=path: self._on_image_failed(p, err))
                self._submit(self.io_lane, ("load", path), job, 0)

    def _placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.viewer_stack.setCurrentWidget(self.placeholder)

    @gui_only
    def _on_image_loaded(self, path: str, loaded) -> None:
        self.images.put(path, loaded, keep=self.current)
        if path == self.current:
            self._display(path, loaded)

    @gui_only
    def _on_image_failed(self, path: str, error: JobError) -> None:
        self.image_errors[path] = error.message
        self.file_list.set_state(path, "error", error.message)
        if path == self.current:
            self._placeholder(f"Cannot open {_name(path)}:\n{error.message}")
            self.report_error("Cannot open image", f"{_name(path)}: {error.message}", error.details)

    @gui_only
    def _display(self, path: str, loaded) -> None:
        viewer = self._ensure_viewer()
        viewer.set_image(loaded)
        self.viewer_stack.setCurrentWidget(viewer)
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
        ids = self.model_ids()
        return bool(ids) and all((path, i) in self.results for i in ids)

    def _refresh_predictions(self, path: str) -> None:
        if self.info is None:
            self.panel.clear_results(pending=False)
            return
        missing = []
        for card_id in self.model_ids():
            result = self.results.get((path, card_id))
            if result is None:
                self.panel.columns[card_id].set_pending()
                missing.append(card_id)
            elif isinstance(result, str):
                self.panel.show_failure(card_id, result)
            else:
                self.panel.show_prediction(card_id, result)
        if missing:
            self._request_predictions(path, missing, self.images[path].array, "predict")

    def _request_predictions(self, path: str, card_ids, image, tag: str) -> None:
        key = ("predict", path)
        running = self._inflight.get(key)
        if running is not None:
            if not (tag == "predict" and running.tag == "prefetch" and running.state == "queued"):
                return
            running.cancel()  # promote a queued prefetch to an immediate prediction
        job = Job(engine.predict, self.session, path, image, tuple(card_ids), name="predict", tag=tag)
        job.yielded.connect(self._on_prediction_event)
        job.errored.connect(lambda err: self._on_job_error("Prediction failed", err))
        self._submit(self.model_lane, key, job, PRIORITY[tag])

    def _schedule_prefetch(self) -> None:
        """Predict the other listed files in the background (lowest priority), to fill the cache."""
        ids = self.model_ids()
        if not ids or self._closed:
            return
        for path in self.file_list.paths():
            if path == self.current or path in self.image_errors or ("predict", path) in self._inflight:
                continue
            missing = [i for i in ids if (path, i) not in self.results]
            if missing:
                self._request_predictions(path, missing, None, "prefetch")

    @Slot(object)
    @gui_only
    def _on_prediction_event(self, event) -> None:
        if isinstance(event, Prediction):
            self.results[(event.path, event.model)] = event.result
            if event.path == self.current:
                self.panel.show_prediction(event.model, event.result)
        elif isinstance(event, PredictionFailed) and event.model is None:
            self.image_errors[event.path] = event.error
            self.file_list.set_state(event.path, "error", event.error)
            return
        elif isinstance(event, PredictionFailed):
            self.results[(event.path, event.model)] = f"Failed: {event.error}"
            if event.path == self.current:
                self.panel.show_failure(event.model, f"Failed: {event.error}")
        self._update_file_state(event.path)
        self.predictionsUpdated.emit(event.path)

    def _update_file_state(self, path: str) -> None:
        if self.info is None or not self.predictions_complete(path):
            return
        lines = []
        for card in self.info.cards:
            result = self.results.get((path, card.id))
            if result is None:
                continue
            text = result if isinstance(result, str) else f"{result.label} {100 * result.probability:.1f} %"
            lines.append(f"{family_name(card.config.arch)}: {text}")
        self.file_list.set_state(path, "done", "\n".join(lines))

    # ================================================================== heat-map
    @Slot(bool)
    def set_overlay_enabled(self, enabled: bool) -> None:
        self.overlay_enabled = bool(enabled)
        self.settings.overlay_visible = self.overlay_enabled
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
        if round(self.panel.opacity_slider.value()) != round(100 * self.overlay_opacity):
            self.panel.set_opacity(self.overlay_opacity)
        if self.viewer is not None:
            self.viewer.set_overlay_opacity(self.overlay_opacity)

    @Slot()
    @gui_only
    def _refresh_overlay(self) -> None:
        choice = self.panel.explain_choice()
        path = self.current
        if (not self.overlay_enabled or choice is None or self.viewer is None or path is None
                or path not in self.images or self.info is None):
            self.model_lane.cancel("explain")
            self.panel.set_explain_caption("")
            return
        card_id, method = choice
        key = (path, card_id, method)
        heat = self.heatmaps.get(key)
        arch = next((c.config.arch for c in self.info.cards if c.id == card_id), "")
        if heat is not None:
            if self.viewer.heatmap_key != key:
                self.viewer.set_heatmap(heat.heatmap, key)
            self.panel.set_explain_caption(f"{METHOD_NAMES.get(method, method)} of the {family_name(arch)} "
                                           f"for “{heat.target_label}”")
            self.overlayUpdated.emit()
            return
        if self.viewer.heatmap_key != key:
            self.viewer.set_heatmap(None)
        for job in self.model_lane.jobs("explain"):
            if job.key[1:] != key:
                job.cancel()
        self.panel.set_explain_caption(f"Computing {METHOD_NAMES.get(method, method)}…")
        if ("explain", *key) not in self._inflight:
            job = Job(engine.explain_image, self.session, path, self.images[path].array, card_id, method,
                      name="explain", tag="explain")
            job.returned.connect(self._on_heatmap)
            job.errored.connect(lambda err: self._on_job_error("Heat-map failed", err))
            job.progressed.connect(self._on_progress)
            self._submit(self.model_lane, ("explain", *key), job, PRIORITY["explain"])

    @Slot(object)
    @gui_only
    def _on_heatmap(self, heat: HeatMap) -> None:
        self.heatmaps.put((heat.path, heat.model, heat.method), heat)
        if heat.path == self.current:
            self._refresh_overlay()

    # ================================================================== view actions
    def fit(self) -> None:
        if self.viewer is not None:
            self.viewer.fit()

    def _zoom(self, factor: float) -> None:
        if self.viewer is not None:
            self.viewer.zoom(factor)

    def _reset_levels(self) -> None:
        if self.viewer is not None:
            self.viewer.reset_levels()

    def _about(self) -> None:
        QMessageBox.about(self, "About MedDiag Desktop",
                          f"<b>MedDiag Desktop {__version__}</b><p>Offline diagnostic assistant for medical "
                          f"images.</p><p><b>{NOTICE_TEXT}</b></p><p>Models run on this computer; no image "
                          "leaves it. Patient identifiers in DICOM files are never read.</p>")

    # ================================================================== jobs, errors, shutdown
    def _submit(self, lane: JobRunner, key: tuple, job: Job, priority: int) -> Job:
        job.key = key
        self._inflight[key] = job
        job.finished.connect(lambda: self._inflight.pop(key) if self._inflight.get(key) is job else None)
        return lane.submit(job, priority)

    @Slot(object)
    def _on_progress(self, progress: Progress) -> None:
        if progress.text:
            self.statusBar().showMessage(progress.text, 3000)

    @Slot(bool)
    def _on_models_busy(self, busy: bool) -> None:
        self.job_progress.setVisible(busy)

    def _on_job_error(self, title: str, error: JobError) -> None:
        if title.startswith("Could not load"):
            self.panel.show_status(f"{title}: {error.message}")
            self.device_label.setText("Device: –")
        self.report_error(title, error.message, error.details)

    @gui_only
    def report_error(self, title: str, message: str, details: str = "") -> None:
        """Readable message box (details behind a button); never blocks the event loop."""
        log.error("%s: %s", title, message)
        self.errorReported.emit(title, message, details)
        if self.dialogs_enabled and not self._closed:
            dialogs.error_box(self, title, message, details)

    def shutdown(self) -> None:
        """Cancel every job and join the worker threads (idempotent)."""
        self._closed = True
        self.io_lane.shutdown()
        self.model_lane.shutdown()

    def closeEvent(self, event) -> None:
        if not self._closed:
            self._save_settings()
            self.hide()  # feels instant even if a model op must finish first
            self.shutdown()
        event.accept()
