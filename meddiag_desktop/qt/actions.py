"""The main window's menus, toolbar and keyboard shortcuts (built by ``MainWindow.start()``)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel

from meddiag_desktop.core.paths import resource_path  # platformdirs only

DEVICES = (("auto", "&Auto", "GPU when one is available, else CPU"),
           ("cpu", "&CPU", "Always run the models on the CPU"),
           ("cuda", "&GPU (CUDA)", "Run the models on the CUDA GPU"))


def _action(window, text: str, slot, shortcuts, tip: str, checkable: bool = False) -> QAction:
    action = QAction(text, window)
    action.setShortcuts(shortcuts if isinstance(shortcuts, list) else [shortcuts])
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    window.addAction(action)  # shortcuts work wherever the focus is
    return action


def build_actions(window) -> None:
    """Menus, toolbar and shortcuts of a MainWindow; the actions become its attributes."""
    key = QKeySequence.StandardKey
    window.open_action = _action(window, "&Open…", window.open_dialog, QKeySequence(key.Open),
                                 "Open one or more images (PNG, JPEG, TIFF, BMP, DICOM…) (Ctrl+O)")
    window.remove_action = _action(window, "&Remove from list", window.remove_current, QKeySequence(key.Delete),
                                   "Remove the selected image from the list (Delete)")
    window.quit_action = _action(window, "&Quit", window.close, QKeySequence("Ctrl+Q"), "Quit MedDiag Desktop")
    window.scan_action = _action(window, "S&can folder…", window.scan_folder_dialog, QKeySequence("Ctrl+Shift+O"),
                                 "Scan whole folders with the task's models into a table (Ctrl+Shift+O)")
    window.report_action = _action(window, "Export &report…", lambda: _export_report(window), QKeySequence("Ctrl+P"),
                                   "Save a PDF case report of this image and its predictions (Ctrl+P)")
    window.fit_action = _action(window, "&Fit to window", window.fit, QKeySequence("F"),
                                "Fit the image to the window (F)")
    window.zoom_in_action = _action(window, "Zoom &in", lambda: window.zoom(1.25),
                                    [QKeySequence(key.ZoomIn), QKeySequence("+")], "Zoom in (+)")
    window.zoom_out_action = _action(window, "Zoom &out", lambda: window.zoom(0.8),
                                     [QKeySequence(key.ZoomOut), QKeySequence("-")], "Zoom out (-)")
    window.reset_wl_action = _action(window, "&Reset window/level", window.reset_levels, QKeySequence("R"),
                                     "Back to the image's own window/level (R); right-drag on the image sets it")
    window.overlay_action = _action(window, "Show &heat-map", window.set_overlay_enabled, QKeySequence("H"),
                                    "Overlay the selected model's heat-map (H)", checkable=True)
    window.overlay_action.setChecked(window.overlay_enabled)
    window.next_action = _action(window, "&Next image", lambda: window.file_list.step(1),
                                 QKeySequence(Qt.Key.Key_PageDown), "Next image (Page Down)")
    window.prev_action = _action(window, "&Previous image", lambda: window.file_list.step(-1),
                                 QKeySequence(Qt.Key.Key_PageUp), "Previous image (Page Up)")

    menu = window.menus["&File"]
    menu.addAction(window.open_action)
    samples = menu.addMenu("Open &sample")
    sample_dir = resource_path("samples")
    for sample in sorted(sample_dir.glob("*")) if sample_dir.is_dir() else []:
        if sample.is_file() and not sample.name.startswith("."):
            samples.addAction(sample.name, lambda _=False, p=str(sample): window.open_files([p]))
    samples.setEnabled(not samples.isEmpty())
    menu.addAction(window.scan_action)
    menu.addAction(window.report_action)
    menu.addAction(window.remove_action)
    menu.addSeparator()
    menu.addAction(window.quit_action)

    menu = window.menus["&View"]
    for action in (window.fit_action, window.zoom_in_action, window.zoom_out_action, window.reset_wl_action):
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(window.overlay_action)
    menu.addSeparator()
    menu.addAction(window.next_action)
    menu.addAction(window.prev_action)

    menu = window.menus["&Settings"]
    device_menu = menu.addMenu("&Device")
    device_menu.setToolTipsVisible(True)
    window.device_group = QActionGroup(window)
    window.device_actions = {}
    for name, text, tip in DEVICES:
        action = QAction(text, window, checkable=True)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, n=name: window.set_device(n))
        window.device_group.addAction(action)
        device_menu.addAction(action)
        window.device_actions[name] = action
    window.device_actions["cuda"].setEnabled(False)  # until the models lane reports a CUDA GPU
    window.device_actions.get(window.device_choice, window.device_actions["auto"]).setChecked(True)
    window.task_menu = menu.addMenu("&Task")
    window.task_group = QActionGroup(window)

    _track_report_action(window)
    _build_models_menu(window)  # Fine-tune… / Models…, before Help
    window.menus["&Help"].addAction("&About MedDiag Desktop", window.about)

    toolbar = window.toolbar
    for action in (window.open_action, window.fit_action, window.reset_wl_action, window.overlay_action):
        toolbar.addAction(action)
    toolbar.addSeparator()
    window.task_combo = QComboBox()
    window.task_combo.setToolTip("Diagnostic task: which models are shown")
    window.task_combo.setMinimumContentsLength(18)
    window.task_combo.activated.connect(lambda i: window.set_task(window.task_combo.itemData(i)))
    window.task_label_action = toolbar.addWidget(QLabel(" Task: "))
    window.task_combo_action = toolbar.addWidget(window.task_combo)
    window.task_label_action.setVisible(False)  # shown when several tasks are installed
    window.task_combo_action.setVisible(False)


def _build_models_menu(window) -> None:
    """The "Models" menu: fine-tuning and model versions. The dialogs are imported when first opened
    (pyqtgraph), so building the menu costs nothing at start-up."""
    from PySide6.QtWidgets import QMenu

    window.finetune_action = _action(window, "&Fine-tune…", window.open_finetune, [],
                                     "Fine-tune a model on your own labelled images (runs in the background)")
    window.models_action = _action(window, "&Models…", window.open_models_page, [],
                                   "Model versions per task: activate, roll back, export, import, delete")
    menu = QMenu("&Models", window)
    window.menuBar().insertMenu(window.menus["&Help"].menuAction(), menu)
    window.menus["&Models"] = menu
    menu.addAction(window.finetune_action)
    menu.addAction(window.models_action)


def _track_report_action(window) -> None:
    """Export report… is enabled while the current image has at least one prediction."""
    def update(*_) -> None:
        from .report import can_export

        window.report_action.setEnabled(can_export(window))

    for signal in (window.file_list.currentPathChanged, window.predictionsUpdated, window.sessionReady):
        signal.connect(update)
    update()


def _export_report(window):
    from .report import export_report_dialog

    return export_report_dialog(window)

