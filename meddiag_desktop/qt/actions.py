"""The main window's menus, toolbar and keyboard shortcuts (built by ``MainWindow.start()``)."""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu

from meddiag_desktop.core.paths import resource_path  # platformdirs only

from .appearance import build_theme_menu
from .core_text import task_title
from .help_dialogs import show_about, show_welcome
from .i18n import translate
from .keyboard import add_keyboard_actions, show_shortcuts
from .language_menu import build_language_menu

DEVICES = (("auto", QT_TRANSLATE_NOOP("Actions", "&Auto"), QT_TRANSLATE_NOOP("Actions", "GPU when one is available, else CPU")),
           ("cpu", QT_TRANSLATE_NOOP("Actions", "&CPU"), QT_TRANSLATE_NOOP("Actions", "Always run the models on the CPU")),
           ("cuda", QT_TRANSLATE_NOOP("Actions", "&GPU (CUDA)"), QT_TRANSLATE_NOOP("Actions", "Run the models on the CUDA GPU")))


def _action(window, text: str, slot, shortcuts, tip: str, checkable: bool = False) -> QAction:
    action = QAction(text, window)
    action.setShortcuts(shortcuts if isinstance(shortcuts, list) else [shortcuts])
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    window.addAction(action)  # shortcuts work wherever the focus is
    return action


class MainActions:
    """Menus, toolbar and shortcuts of a MainWindow (built by its ``start()``); the window keeps it
    as ``menu_actions`` and calls back only through its public methods."""

    def __init__(self, window) -> None:
        key = QKeySequence.StandardKey
        self.window = window
        self.open_action = _action(window, translate("MainActions", "&Open…"), window.open_dialog, QKeySequence(key.Open),
                                   translate("MainActions", "Open one or more images (PNG, JPEG, TIFF, BMP, DICOM…) (Ctrl+O)"))
        self.remove_action = _action(window, translate("MainActions", "&Remove from list"), window.remove_current, QKeySequence(key.Delete),
                                     translate("MainActions", "Remove the selected image from the list (Delete)"))
        self.quit_action = _action(window, translate("MainActions", "&Quit"), window.close, QKeySequence("Ctrl+Q"), translate("MainActions", "Quit MedDiag Desktop"))
        self.scan_action = _action(window, translate("MainActions", "S&can folder…"), window.scan_folder_dialog, QKeySequence("Ctrl+Shift+O"),
                                   translate("MainActions", "Scan whole folders with the task's models into a table (Ctrl+Shift+O)"))
        self.review_action = _action(window, translate("MainActions", "Re&view queue…"), lambda: window.child_windows.open_review(
            window.device_choice, window.task_choice).choose_queue(), [], translate("MainActions", "Label a review queue (meddiag review-queue) "
            "image by image, by keys alone; the labels are saved at once and can be fine-tuned on"))
        self.report_action = _action(window, translate("MainActions", "Export &report…"), lambda: _export_report(window),
                                     QKeySequence("Ctrl+P"),
                                     translate("MainActions", "Save a PDF case report of this image and its predictions (Ctrl+P)"))
        self.dicom_action = _action(window, translate("MainActions", "Export &DICOM results…"), lambda: _export_dicom(window), [],
                                    translate("MainActions", "Write a DICOM structured report and a heat-map secondary capture of this "
                                    "image's results into a folder, in the image's own study"))
        self.fit_action = _action(window, translate("MainActions", "&Fit to window"), window.image_area.fit, QKeySequence("F"),
                                  translate("MainActions", "Fit the image to the window (F)"))
        self.zoom_in_action = _action(window, translate("MainActions", "Zoom &in"), lambda: window.image_area.zoom(1.25),
                                      [QKeySequence(key.ZoomIn), QKeySequence("+")], translate("MainActions", "Zoom in (+)"))
        self.zoom_out_action = _action(window, translate("MainActions", "Zoom &out"), lambda: window.image_area.zoom(0.8),
                                       [QKeySequence(key.ZoomOut), QKeySequence("-")], translate("MainActions", "Zoom out (-)"))
        self.reset_wl_action = _action(window, translate("MainActions", "&Reset window/level"), window.image_area.reset_levels, QKeySequence("R"),
                                       translate("MainActions", "Back to the image's own window/level (R); right-drag on the image sets it"))
        self.overlay_action = _action(window, translate("MainActions", "Show &heat-map"), window.set_overlay_enabled, QKeySequence("H"),
                                      translate("MainActions", "Overlay the selected model's heat-map (H)"), checkable=True)
        self.next_action = _action(window, translate("MainActions", "&Next image"), lambda: window.file_list.step(1),
                                   QKeySequence(Qt.Key.Key_PageDown), translate("MainActions", "Next image (Page Down)"))
        self.prev_action = _action(window, translate("MainActions", "&Previous image"), lambda: window.file_list.step(-1),
                                   QKeySequence(Qt.Key.Key_PageUp), translate("MainActions", "Previous image (Page Up)"))
        self.watch_action = _action(window, translate("MainActions", "&Watch folder…"), lambda: _intake(window).watch_folder_dialog(), [],
                                    translate("MainActions", "Analyse new images as they appear in a folder; they join the Inbox"))
        self.finetune_action = _action(window, translate("MainActions", "&Fine-tune…"), window.open_finetune, [],
                                       translate("MainActions", "Fine-tune a model on your own labelled images (runs in the background)"))
        self.models_action = _action(window, translate("MainActions", "&Models…"), window.open_models_page, [],
                                     translate("MainActions", "Model versions per task: activate, roll back, export, import, delete"))
        self.keyboard_actions = add_keyboard_actions(window, lambda *a: _action(window, *a))
        self.shortcuts_action = _action(window, translate("MainActions", "&Keyboard shortcuts"), lambda: show_shortcuts(window),
                                        QKeySequence("F1"), translate("MainActions", "Every keyboard shortcut of the window (F1)"))
        self._build_menus(window)
        self._build_toolbar(window)
        for signal in (window.file_list.currentPathChanged, window.predictionsUpdated, window.sessionReady):
            signal.connect(self.update_report_action)
        self.update_report_action()

    def _build_menus(self, window) -> None:
        menu = window.menus["&File"]
        menu.addAction(self.open_action)
        samples = menu.addMenu(translate("MainActions", "Open &sample"))
        sample_dir = resource_path("samples")
        for sample in sorted(sample_dir.glob("*")) if sample_dir.is_dir() else []:
            if sample.is_file() and not sample.name.startswith("."):
                samples.addAction(sample.name, lambda _=False, p=str(sample): window.open_files([p]))
        samples.setEnabled(not samples.isEmpty())
        for action in (self.scan_action, self.watch_action, self.review_action, self.report_action, self.dicom_action,
                       self.remove_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.quit_action)

        menu = window.menus["&View"]
        for action in (self.fit_action, self.zoom_in_action, self.zoom_out_action, self.reset_wl_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.overlay_action)
        menu.addSeparator()
        menu.addAction(self.next_action)
        menu.addAction(self.prev_action)
        menu.addSeparator()
        menu.addActions(self.keyboard_actions[:2])
        presets = menu.addMenu(translate("MainActions", "Window/level &presets"))
        presets.addActions(self.keyboard_actions[2:])

        menu = window.menus["&Settings"]
        device_menu = menu.addMenu(translate("MainActions", "&Device"))
        device_menu.setToolTipsVisible(True)
        self.device_group = QActionGroup(window)
        self.device_actions: dict[str, QAction] = {}
        for name, text, tip in DEVICES:
            action = QAction(translate("Actions", text), window, checkable=True)
            action.setToolTip(translate("Actions", tip))
            action.triggered.connect(lambda _=False, n=name: window.set_device(n))
            self.device_group.addAction(action)
            device_menu.addAction(action)
            self.device_actions[name] = action
        self.device_actions["cuda"].setEnabled(False)  # until the models lane reports a CUDA GPU
        self.device_actions.get(window.device_choice, self.device_actions["auto"]).setChecked(True)
        self.task_menu = menu.addMenu(translate("MainActions", "&Task"))
        menu.addAction(translate("MainActions", "DICOM &node…"), lambda: _intake(window).show_dialog())
        self.theme_actions = build_theme_menu(window, menu)
        self.language_actions = build_language_menu(window, menu)
        self.task_group = QActionGroup(window)

        # Models (before Help): the dialogs are imported when first opened (pyqtgraph), so building
        # the menu costs nothing at start-up.
        menu = QMenu(translate("MainActions", "&Models"), window)
        window.menuBar().insertMenu(window.menus["&Help"].menuAction(), menu)
        window.menus["&Models"] = menu
        menu.addAction(self.finetune_action)
        menu.addAction(self.models_action)
        help_menu = window.menus["&Help"]
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(translate("MainActions", "&Getting started"), lambda: show_welcome(window))
        help_menu.addAction(translate("MainActions", "&About MedDiag Desktop"), self.about)

    def _build_toolbar(self, window) -> None:
        toolbar = window.toolbar
        for action in (self.open_action, self.fit_action, self.reset_wl_action, self.overlay_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        self.task_combo = QComboBox()
        self.task_combo.setToolTip(translate("MainActions", "Diagnostic task: which models are shown"))
        self.task_combo.setMinimumContentsLength(18)
        self.task_combo.activated.connect(lambda i: window.set_task(self.task_combo.itemData(i)))
        self.task_label_action = toolbar.addWidget(QLabel(translate("MainActions", " Task: ")))
        self.task_combo_action = toolbar.addWidget(self.task_combo)
        self.task_label_action.setVisible(False)  # shown when several tasks are installed
        self.task_combo_action.setVisible(False)

    def set_tasks(self, tasks, task: str | None) -> None:
        """The installed tasks in the Task menu and combo (shown when there are several), ``task`` checked."""
        self.task_combo.clear()
        for action in self.task_group.actions():
            self.task_group.removeAction(action)
            self.task_menu.removeAction(action)
        for name in tasks:
            title = task_title(name)
            self.task_combo.addItem(title, name)
            action = QAction(title, self.window, checkable=True)
            action.setChecked(name == task)
            action.triggered.connect(lambda _=False, t=name: self.window.set_task(t))
            self.task_group.addAction(action)
            self.task_menu.addAction(action)
        self.task_combo.setCurrentIndex(max(0, self.task_combo.findData(task)))
        several = len(tasks) > 1
        self.task_label_action.setVisible(several)
        self.task_combo_action.setVisible(several)
        self.task_menu.setEnabled(several)

    def set_overlay_checked(self, checked: bool) -> None:
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(checked)
        self.overlay_action.blockSignals(False)

    def about(self) -> None:
        """Help → About: versions, model cards, licences (``help_dialogs.show_about``)."""
        show_about(self.window)

    def update_report_action(self, *_) -> None:
        """Export report… and Export DICOM results… are enabled while the current image has at least
        one prediction."""
        from .report import can_export

        self.report_action.setEnabled(can_export(self.window))
        self.dicom_action.setEnabled(can_export(self.window))


def _export_report(window):
    from .report import export_report_dialog

    return export_report_dialog(window)


def _intake(window):
    return window.child_windows.open_intake()


def _export_dicom(window):
    from .dicom_export import export_dicom_dialog

    return export_dicom_dialog(window)
