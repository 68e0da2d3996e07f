"""Text that changes often (live predictions, progress, the viewer caption) without relayouts.

A QLabel's ``setText`` invalidates every layout up to the window: one relayout of the whole window
per new text, measured as the largest GUI-thread cost per shown result. ``PaintedText`` has a
fixed number of lines, so its size never depends on the text, and ``setText`` only repaints it.
Style sheets apply as to any widget (``color``, ``background``); margins give the padding.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QStyle, QStyleOption, QWidget


class PaintedText(QWidget):
    """Text painted into a fixed number of lines; long lines are elided in the middle (or wrapped)."""

    def __init__(self, lines: int = 1, object_name: str = "", wrap: bool = False,
                 align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text, self._lines, self._wrap = "", lines, wrap
        self._align = align | Qt.AlignmentFlag.AlignTop
        self.setObjectName(object_name)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # a style sheet's background applies
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        height = self._lines * self.fontMetrics().lineSpacing() + 2 + margins.top() + margins.bottom()
        return QSize(max(40, self.minimumWidth()), height)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def text(self) -> str:
        return self._text

    set_full_text, full_text = setText, text  # ElidedLabel's names

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        if self._wrap:
            painter.drawText(rect, int(self._align | Qt.TextFlag.TextWordWrap), self._text)
        else:  # one line per text line, each elided in the middle when too wide
            metrics = self.fontMetrics()
            lines = [metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, rect.width())
                     for line in self._text.split("\n")]
            painter.drawText(rect, int(self._align), "\n".join(lines))
        painter.end()
