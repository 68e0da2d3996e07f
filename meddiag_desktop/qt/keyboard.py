"""Keyboard-only reading: window/level presets, cycling the explained model family, and
Help → Keyboard shortcuts (every shortcut of the window, read from its actions, so the list is complete)."""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout
from .i18n import translate

SHORTCUTS_DIALOG = "keyboard-shortcuts-dialog"  # object name: the window owns the dialog

# (name, key, (centre, width)): fractions of the image's own range, or Hounsfield units for CT
RELATIVE_PRESETS = ((QT_TRANSLATE_NOOP("Keyboard", "Full range"), "Ctrl+2", (0.5, 1.0)), (QT_TRANSLATE_NOOP("Keyboard", "High contrast"), "Ctrl+3", (0.5, 0.5)),
                    (QT_TRANSLATE_NOOP("Keyboard", "Bright structures"), "Ctrl+4", (0.75, 0.5)), (QT_TRANSLATE_NOOP("Keyboard", "Dark structures"), "Ctrl+5", (0.25, 0.5)))
CT_PRESETS = ((QT_TRANSLATE_NOOP("Keyboard", "Lung (CT)"), "Ctrl+6", (-600.0, 1500.0)), (QT_TRANSLATE_NOOP("Keyboard", "Soft tissue (CT)"), "Ctrl+7", (40.0, 400.0)),
              (QT_TRANSLATE_NOOP("Keyboard", "Bone (CT)"), "Ctrl+8", (400.0, 1800.0)))


def apply_preset(window, centre_width: tuple[float, float], hounsfield: bool) -> bool:
    """Set the image's window/level to a preset; False when it does not apply (no grey image, not CT)."""
    viewer = window.image_area.viewer
    if viewer is None or viewer.data_limits is None:
        return False
    centre, width = centre_width
    if hounsfield:
        if (viewer.modality or "").upper() != "CT":
            window.statusBar().showMessage(translate("Keyboard", "CT presets apply to CT images only"), 4000)
            return False
    else:
        lo, hi = viewer.data_limits
        centre, width = lo + centre * (hi - lo), width * (hi - lo)
    viewer.set_window_level(centre, width)
    return True


def cycle_family(window, step: int = 1) -> None:
    """The next model family in the heat-map's model choice (M / Shift+M)."""
    combo = window.panel.model_combo if window.panel is not None else None
    if combo is not None and combo.count():
        combo.setCurrentIndex((combo.currentIndex() + step) % combo.count())
        card = combo.currentText()
        window.statusBar().showMessage(translate("Keyboard", "Heat-map model: {card}").format(card=card), 3000)


def add_keyboard_actions(window, add_action) -> list[QAction]:
    """The View menu's presets and family cycling; ``add_action(text, slot, keys, tip)`` makes one action."""
    actions = [add_action(translate("Keyboard", "Next model &family"), lambda: cycle_family(window, 1), QKeySequence("M"),
                          translate("Keyboard", "Explain the next model family's prediction (M)")),
               add_action(translate("Keyboard", "Previous model famil&y"), lambda: cycle_family(window, -1), QKeySequence("Shift+M"),
                          translate("Keyboard", "Explain the previous model family's prediction (Shift+M)"))]
    actions.append(add_action(translate("Keyboard", "Window/level: image default"), window.image_area.reset_levels, QKeySequence("Ctrl+1"),
                              translate("Keyboard", "The image's own window/level (Ctrl+1)")))
    for presets, hounsfield in ((RELATIVE_PRESETS, False), (CT_PRESETS, True)):
        for name, key, value in presets:
            actions.append(add_action(translate("Keyboard", "Window/level: {name}").format(name=translate("Keyboard", name)), lambda _=False, v=value, h=hounsfield:
                                      apply_preset(window, v, h), QKeySequence(key), translate("Keyboard", "Window/level preset {name} ({key})").format(name=translate("Keyboard", name), key=key)))
    return actions


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(action, keys) for every action of the window with a shortcut, in menu order, plus the fixed keys."""
    rows = []
    for action in window.actions():
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…"), ", ".join(keys)))
    rows += [(translate("Keyboard", "Move between controls"), translate("Keyboard", "Tab, Shift+Tab")), (translate("Keyboard", "Open a menu"), translate("Keyboard", "Alt + the underlined letter")),
             (translate("Keyboard", "Window/level with the mouse"), translate("Keyboard", "right-drag on the image"))]
    return rows


def show_shortcuts(window) -> QDialog:
    """Help → Keyboard shortcuts: a table of every shortcut (non-modal)."""
    dialog = QDialog(window)  # owned by the window (found again by its object name)
    dialog.setObjectName(SHORTCUTS_DIALOG)
    dialog.setWindowTitle(translate("Keyboard", "Keyboard shortcuts — MedDiag Desktop"))
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2, dialog)
    table.setAccessibleName(translate("Keyboard", "Keyboard shortcuts"))
    table.setHorizontalHeaderLabels([translate("Keyboard", "Action"), translate("Keyboard", "Keys")])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, (text, keys) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(text))
        table.setItem(r, 1, QTableWidgetItem(keys))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.resizeColumnToContents(1)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel(translate("Keyboard", "Every action of the main window without a mouse:")))
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(520, 560)
    dialog.show()
    return dialog


README_TABLE_START, README_TABLE_END = "<!-- shortcuts:start -->", "<!-- shortcuts:end -->"


def shortcut_table_markdown(rows: list[tuple[str, str]]) -> str:
    """The README's shortcut table (between ``README_TABLE_START`` / ``_END``): the dialog's rows as Markdown,
    so both come from the window's actions (``scripts/shortcut_table.py`` writes it, a test compares)."""
    lines = ["| keys | action |", "|---|---|"] + [f"| {keys} | {action} |" for action, keys in rows]
    return "\n".join(lines)
