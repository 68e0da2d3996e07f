"""Keyboard-only and screen-reader use, Help → Keyboard shortcuts, the first-start panel, Help → About."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QLabel, QTableWidget, QTextBrowser

from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt.a11y import interactive_widgets, tab_unreachable, unnamed_interactive_widgets
from meddiag_desktop.qt.help_dialogs import ABOUT_DIALOG, show_welcome_once
from meddiag_desktop.qt.keyboard import (README_TABLE_END, README_TABLE_START, SHORTCUTS_DIALOG, shortcut_rows,
                                         shortcut_table_markdown)

WAIT = 60_000
CHEST = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))


@pytest.fixture
def three_windows(window, qtbot):
    scan = window.open_scan_window()
    dialog = window.open_finetune()
    qtbot.waitUntil(lambda: dialog.setup.base_combo.count() > 0, timeout=WAIT)
    return window, scan, dialog


def test_no_unnamed_interactive_widget_and_tab_reaches_every_one(three_windows, qtbot):
    for win in three_windows:
        qtbot.waitExposed(win)
        assert len(interactive_widgets(win)) >= 5
        assert unnamed_interactive_widgets(win) == [], type(win).__name__
        assert tab_unreachable(win) == [], type(win).__name__


def test_the_shortcuts_dialog_lists_every_shortcut(window, qtbot):
    keys = {k.toString(QKeySequence.SequenceFormat.NativeText) for a in window.actions() for k in a.shortcuts()}
    for needed in ("PgDown", "PgUp", "H", "M", "F", "Ctrl+1", "Ctrl+6", "F1"):
        assert needed in keys
    window.menu_actions.shortcuts_action.trigger()
    table = window.findChildren(QDialog, SHORTCUTS_DIALOG)[-1].findChild(QTableWidget)
    listed = {table.item(r, 1).text() for r in range(table.rowCount())}
    for key in keys:
        assert any(key in cell for cell in listed), key


def test_the_readme_shortcut_table_is_the_dialogs(window):
    """README's table = Help → Keyboard shortcuts' rows (scripts/shortcut_table.py --write remakes it)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_TABLE_START) + len(README_TABLE_START):readme.index(README_TABLE_END)]
    window.menu_actions.shortcuts_action.trigger()
    table = window.findChildren(QDialog, SHORTCUTS_DIALOG)[-1].findChild(QTableWidget)
    shown = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert shown == shortcut_rows(window)
    assert block.strip() == shortcut_table_markdown(shown)


def test_presets_and_family_cycling_by_keyboard(window, qtbot):
    window.open_files([CHEST])
    qtbot.waitUntil(lambda: window.viewer.has_image, timeout=WAIT)
    presets = {a.text().replace("&", ""): a for a in window.menu_actions.keyboard_actions}
    presets["Window/level: Full range"].trigger()
    lo, hi = window.viewer.data_limits
    assert window.viewer.window_level() == pytest.approx(((lo + hi) / 2, hi - lo))
    presets["Window/level: High contrast"].trigger()
    assert window.viewer.window_level()[1] == pytest.approx((hi - lo) / 2)
    before = window.viewer.window_level()
    presets["Window/level: Lung (CT)"].trigger()  # a PNG is not CT: unchanged
    assert window.viewer.window_level() == before
    combo = window.panel.model_combo
    first = combo.currentIndex()
    presets["Next model family"].trigger()
    assert combo.currentIndex() == (first + 1) % combo.count()
    presets["Previous model family"].trigger()
    assert combo.currentIndex() == first


def test_the_first_start_panel_shows_once_and_about_lists_cards_and_licences(window, qtbot):
    assert not window.settings.welcome_seen
    dialog = show_welcome_once(window)
    assert dialog is not None and dialog.isVisible()
    assert "not" in dialog.findChild(QLabel).text()
    dialog.close()  # skipped
    assert window.settings.welcome_seen and show_welcome_once(window) is None
    window.menu_actions.about()
    text = window.findChildren(QDialog, ABOUT_DIALOG)[-1].findChild(QTextBrowser).toPlainText()
    assert "CC BY 4.0" in text and "MedMNIST" in text and "PySide6" in text
    assert all(card.id in text for card in window.info.cards)
