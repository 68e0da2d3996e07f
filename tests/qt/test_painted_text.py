"""PaintedText: new text repaints the widget only (no relayout of the window), style sheets apply."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from meddiag_desktop.qt.painted_text import PaintedText


class _LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _obj, event) -> bool:
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


def _window_with(widget: QWidget, qtbot) -> tuple[QWidget, _LayoutRequests]:
    window = QWidget()
    layout = QVBoxLayout(window)
    layout.addWidget(QLabel("a neighbour"))
    layout.addWidget(widget)
    qtbot.addWidget(window)
    window.resize(300, 120)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(20)
    requests = _LayoutRequests()
    window.installEventFilter(requests)
    return window, requests


def test_new_text_does_not_relayout_the_window_where_a_label_does(qtbot):
    text = PaintedText()
    window, requests = _window_with(text, qtbot)
    for i in range(5):
        text.setText(f"probability 0.{i}7 of a much longer text than before {'x' * i}")
        qtbot.wait(5)
    assert requests.count == 0 and text.text().startswith("probability 0.47")

    label = QLabel("short")  # the control: the same changes through a QLabel re-lay out the window
    label_window, label_requests = _window_with(label, qtbot)
    for i in range(5):
        label.setText(f"probability 0.{i}7 of a much longer text than before {'x' * i}")
        qtbot.wait(5)
    assert label_requests.count > 0


def test_style_sheet_background_colour_and_margins_apply(qtbot):
    caption = PaintedText(object_name="caption")
    caption.setStyleSheet("#caption { background: #111315; color: #ffffff; }")
    caption.setContentsMargins(2, 2, 2, 2)
    caption.setText("W 400 · L 40")
    window, _ = _window_with(caption, qtbot)  # (kept: the window owns the widget)
    image = caption.grab().toImage()
    assert QColor(image.pixel(1, 1)) == QColor("#111315")
    assert caption.sizeHint().height() == caption.fontMetrics().lineSpacing() + 2 + 4
    bright = sum(QColor(image.pixel(x, y)).lightness() > 128
                 for x in range(image.width()) for y in range(image.height()))
    assert bright > 10  # the text is drawn in the style sheet's colour


def test_height_is_fixed_by_the_line_count_whatever_the_text(qtbot):
    text = PaintedText(lines=2)
    text.setFixedWidth(120)
    window, _ = _window_with(text, qtbot)
    heights = set()
    for value in ("", "short", "short\n" + "a very long path/with/many/parts/that/cannot/fit.dcm " * 3):
        text.setText(value)
        qtbot.wait(5)
        heights.add((text.sizeHint().height(), text.height()))
    assert heights == {(2 * text.fontMetrics().lineSpacing() + 2,) * 2}
