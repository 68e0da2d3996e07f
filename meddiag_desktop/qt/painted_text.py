"""Text and values that change often (live predictions, progress, the viewer caption) without relayouts.

A QLabel's ``setText`` invalidates every layout up to the window: one relayout of the whole window
per new text, measured as the largest GUI-thread cost per shown result. ``PaintedText`` has a
fixed number of lines, so its size never depends on the text, and ``setText`` only repaints it; a
wrapped one grows only when a text or a narrower column (a 1366 x 768 screen at 150 %) needs more
lines than that, so no text is ever cut off - one relayout then, not one per text (no height-for-width:
Qt's layouts would call into Python ~100 times per shown image).
Style sheets apply as to any widget (``color``, ``background``); margins give the padding.
``ElidedLabel`` (one line, elided) and ``ProbabilityBar`` (a value in [0, 1]) follow the same rule.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget

from .style import colours


class PaintedText(QWidget):
    """Text painted into a fixed number of lines; long lines are elided in the middle (or wrapped)."""

    def __init__(self, lines: int = 1, object_name: str = "", wrap: bool = False,
                 align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text, self._lines, self._wrap = "", lines, wrap
        self._needed = 0  # height the wrapped text needs at the current width, when above the fixed lines
        self._align = align | Qt.AlignmentFlag.AlignTop
        self.setObjectName(object_name)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # a style sheet's background applies
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        height = self._lines * self.fontMetrics().lineSpacing() + 2 + margins.top() + margins.bottom()
        return QSize(max(40, self.minimumWidth()), max(height, self._needed))

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setAccessibleName(text)  # read out by screen readers (cheap when none is active)
            self._fit_lines()
            self.update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_lines()

    def _fit_lines(self) -> None:
        """Grow (or shrink back) when the wrapped text needs more lines than the fixed ones at this width."""
        if not self._wrap or self.width() <= 0:
            return
        margins = self.contentsMargins()
        box = QRect(0, 0, max(1, self.width() - margins.left() - margins.right()), 1 << 20)
        needed = self.fontMetrics().boundingRect(box, int(self._align | Qt.TextFlag.TextWordWrap), self._text)
        needed_height = needed.height() + 2 + margins.top() + margins.bottom()
        fixed = self._lines * self.fontMetrics().lineSpacing() + 2 + margins.top() + margins.bottom()
        needed_height = needed_height if needed_height > fixed else 0
        if needed_height != self._needed:
            self._needed = needed_height
            self.updateGeometry()  # the one case that relayouts

    def text(self) -> str:
        return self._text

    def wordWrap(self) -> bool:  # QLabel's name
        return self._wrap

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


class ElidedLabel(QLabel):
    """One-line label that elides its text in the middle instead of widening the layout."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def sizeHint(self) -> QSize:  # independent of the text: a new text never relayouts the panel
        return QSize(40, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40)
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


class ProbabilityBar(QWidget):
    """A thin bar for a probability in [0, 1]. Painted with update() - QProgressBar.setValue repaints
    synchronously, which flushes the whole window (image view included) on every value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(80, 7)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        if value != self._value:
            self._value = value
            self.setAccessibleDescription(f"{100 * value:.0f} %")
            self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        radius = rect.height() / 2
        theme = colours()  # qt.style: the theme on screen
        painter.setBrush(QColor(theme.bar_track))
        painter.drawRoundedRect(rect, radius, radius)
        if self._value > 0:
            painter.setBrush(QColor(theme.bar_fill))
            painter.drawRoundedRect(QRectF(rect.x(), rect.y(), max(rect.height(), rect.width() * self._value),
                                           rect.height()), radius, radius)
        painter.end()
