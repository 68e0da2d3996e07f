"""Keyboard focus is visible, in the light and the dark theme: every control that Tab stops at in the
main, scan and fine-tune windows (the image view included), and the current cell of a focused table,
look different when focused - by at least 3:1 in contrast (WCAG's non-text contrast) on a band at
least 2 px wide around the control or cell (WCAG 2.4.13's focus-indicator area); the focused cell's
text stays readable (4.5:1)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt.focus_ring import FOCUS_RING, focus_ring
from meddiag_desktop.qt.style import apply_theme

WAIT = 120_000
SAMPLES = [str(resource_path("samples", name)) for name in ("chest_xray_pneumonia_val0.png",
                                                            "chest_xray_normal_val3.png")]


def luminance(pixmap) -> np.ndarray:
    """WCAG relative luminance of every device pixel."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrasting_pixels(before: np.ndarray, after: np.ndarray) -> int:
    """Pixels whose two colours differ by at least 3:1."""
    high, low = np.maximum(before, after), np.minimum(before, after)
    return int(((high + 0.05) / (low + 0.05) >= 3.0).sum())


def band_pixels(width: int, height: int, band: int = 2) -> int:
    return width * height - max(0, width - 2 * band) * max(0, height - 2 * band)


def focus_receiver(widget: QWidget) -> QWidget:
    """Where ``setFocus`` puts the focus: the end of the focus-proxy chain (a spin box's line edit: the spin box)."""
    while widget.focusProxy() is not None:
        widget = widget.focusProxy()
    return widget


def tab_stops(root: QWidget) -> list[QWidget]:
    """The controls Tab stops at, each once, as the widget that gets the focus."""
    stops, widget = [], root.nextInFocusChain()
    while widget is not root:
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(root) and widget.isEnabled() \
                and focus_receiver(widget) not in stops:
            stops.append(focus_receiver(widget))
        widget = widget.nextInFocusChain()
    return stops


def activate(win, qtbot) -> None:
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    if QApplication.focusWidget() is not None:
        QApplication.focusWidget().clearFocus()
    qtbot.waitUntil(lambda: focus_ring() is None or not focus_ring().isVisible(), timeout=5000)


@pytest.fixture(params=["light", "dark"])
def theme(request):
    apply_theme(request.param)
    yield request.param
    apply_theme("light")


@pytest.fixture
def windows(window, qtbot):
    window.open_files(SAMPLES)
    qtbot.waitUntil(lambda: window.predictions_complete(SAMPLES[0]), timeout=WAIT)
    scan = window.open_scan_window()
    with qtbot.waitSignal(scan.scanFinished, timeout=WAIT):
        assert scan.start_scan(SAMPLES) is not None
    dialog = window.open_finetune()
    qtbot.waitUntil(lambda: dialog.setup.base_combo.count() > 0, timeout=WAIT)
    return window, scan, dialog


def test_every_tab_stop_shows_its_focus(windows, theme, qtbot):
    for win in windows:
        activate(win, qtbot)
        stops = tab_stops(win)
        assert len(stops) >= 5, type(win).__name__
        unfocused = {id(w): luminance(w.grab()) for w in stops}
        for widget in stops:
            widget.setFocus(Qt.FocusReason.TabFocusReason)
            qtbot.waitUntil(lambda: focus_ring() is not None and focus_ring().parentWidget() is widget, timeout=5000)
            qtbot.wait(20)  # what the user sees: after the layouts the focus change set off
            focused = luminance(widget.grab())
            height, width = focused.shape
            assert contrasting_pixels(unfocused[id(widget)], focused) >= 0.9 * band_pixels(width, height), \
                (theme, type(win).__name__, type(widget).__name__, widget.accessibleName() or widget.toolTip())
    assert windows[0].viewer.graphics in tab_stops(windows[0])


def test_the_current_cell_of_a_focused_table_is_framed(windows, theme, qtbot):
    window, scan, _dialog = windows
    for view in (scan.results.table, window.file_list):
        activate(view.window(), qtbot)
        assert view.model().rowCount() >= 2
        view.setCurrentIndex(view.model().index(1, 0))
        cell = view.visualRect(view.currentIndex())
        unfocused = luminance(view.viewport().grab(cell))
        view.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(view.hasFocus, timeout=5000)
        focused = luminance(view.viewport().grab(cell))
        height, width = focused.shape
        assert contrasting_pixels(unfocused, focused) >= 0.9 * band_pixels(width, height), (theme, type(view).__name__)
        icon = view.iconSize().width() + 8 if view.currentIndex().data(Qt.ItemDataRole.DecorationRole) else 0
        inside = focused[3:-3, 3 + icon:-3]  # the text stays readable: anti-aliased glyphs >= 3:1 (colours: 4.5:1)
        background = np.median(inside)
        text = inside[np.abs(inside - background) > 0.05]
        assert text.size and max((max(background, t) + 0.05) / (min(background, t) + 0.05) for t in text) >= 3.0, \
            (theme, type(view).__name__)


def test_the_ring_follows_the_focus_and_never_takes_it(window, qtbot):
    activate(window, qtbot)
    window.file_list.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: focus_ring() is not None and focus_ring().parentWidget() is window.file_list,
                    timeout=5000)
    ring = focus_ring()
    assert ring.objectName() == FOCUS_RING and ring.geometry() == window.file_list.rect()
    assert ring.focusPolicy() == Qt.FocusPolicy.NoFocus
    assert ring.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    window.panel.overlay_check.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: focus_ring() is not None and focus_ring().parentWidget() is window.panel.overlay_check,
                    timeout=5000)
    assert window.file_list.findChildren(QWidget, FOCUS_RING, Qt.FindChildOption.FindDirectChildrenOnly) == [] \
        or not any(r.isVisible() for r in window.file_list.findChildren(QWidget, FOCUS_RING))


def test_the_ring_survives_its_widget_being_deleted(window, qtbot):
    from PySide6.QtWidgets import QLineEdit
    from shiboken6 import isValid

    activate(window, qtbot)
    edit = QLineEdit(window.panel)
    edit.show()
    edit.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: focus_ring() is not None and focus_ring().parentWidget() is edit, timeout=5000)
    ring = focus_ring()
    edit.deleteLater()  # deleted while focused, the ring on it
    qtbot.waitUntil(lambda: not isValid(edit), timeout=5000)
    assert isValid(ring) and ring.parentWidget() is None and not ring.isVisible()
    window.file_list.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: focus_ring() is ring and ring.parentWidget() is window.file_list, timeout=5000)

