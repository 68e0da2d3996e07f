"""A visible keyboard focus on every control of every window, in both themes.

Fusion marks focus faintly (a 1-px tint on some controls, nothing on lists, plots or the image view,
almost nothing in dark colours). ``show_focus_rings`` draws one ring over the edge of the focused
widget instead: 2 px in the theme's focus colour between two 1-px lines in its base colour, so at
least 2 px of it stand out (>= 3:1 against what they cover) on light controls, dark controls, a
default button's blue edge and the dark image area alike. The one ring is a child of the focused
widget (it moves, scrolls and hides with it) and is masked to the edge, so repaints inside the
widget (a new image, a live table row) never run its paint code. The current cell of a focused
table or list is framed by the style sheet (``style.style_sheet``).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QColor, QPainter, QRegion
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

RING_WIDTH = 2  # px in the focus colour; 1 px in the base colour on either side
FOCUS_RING = "focusRing"  # the ring's object name
_REFIT = (QEvent.Type.Resize, QEvent.Type.ChildAdded, QEvent.Type.LayoutRequest)


class FocusRing(QWidget):
    """The ring over the edge of its parent, the focused widget; moved to each new one."""

    def __init__(self, colour: str, inner: str) -> None:
        from PySide6.QtCore import Qt  # not at import: building Qt's namespace costs ~25 ms

        super().__init__()
        self.setObjectName(FOCUS_RING)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.colour, self.inner = QColor(colour), QColor(inner)

    def set_colours(self, colour: str, inner: str) -> None:
        self.colour, self.inner = QColor(colour), QColor(inner)
        self.update()

    def follow(self, target: QWidget | None) -> None:
        """Onto ``target``; off any widget when None (hidden, no parent: never deleted with a widget)."""
        previous = self.parentWidget()
        if previous is not None:
            previous.removeEventFilter(self)
        if target is None:
            self.hide()
            if previous is not None:
                self.setParent(None)
            return
        self.setParent(target)  # hides it
        target.installEventFilter(self)
        self._fit()
        self.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() in _REFIT:
            self._fit()
            QTimer.singleShot(0, self._raise_again)  # a scroll area lays out (raises) its scroll bars after this
        return False

    def _raise_again(self) -> None:
        if isValid(self) and self.isVisible():
            self.raise_()

    def _fit(self) -> None:
        rect = self.parentWidget().rect()
        edge = RING_WIDTH + 2
        self.setGeometry(rect)
        self.setMask(QRegion(rect).subtracted(QRegion(rect.adjusted(edge, edge, -edge, -edge))))
        self.raise_()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)  # clipped to the mask: the outer 4 px
        painter.fillRect(self.rect(), self.inner)
        painter.fillRect(self.rect().adjusted(1, 1, -1, -1), self.colour)
        inside = RING_WIDTH + 1
        painter.fillRect(self.rect().adjusted(inside, inside, -inside, -inside), self.inner)
        painter.end()


_state: dict = {"ring": None, "colours": ("#1f4e9c", "#ffffff"), "connected": False, "pending": False}


def show_focus_rings(app: QApplication, colour: str, inner: str) -> None:
    """From now on the focused widget of ``app`` wears a ring in ``colour`` (and ``inner``); called
    again at each theme change with the new colours."""
    _state["colours"] = (colour, inner)
    if not _state["connected"]:
        app.focusChanged.connect(_focus_changed)
        _state["connected"] = True
    ring = _state["ring"]
    if ring is not None and isValid(ring):
        ring.set_colours(colour, inner)
    _focus_changed(None, None)


def focus_ring() -> FocusRing | None:
    """The ring on screen, None when no widget has the focus."""
    ring = _state["ring"]
    return ring if ring is not None and isValid(ring) and ring.isVisible() else None


def _focus_changed(_old, new) -> None:
    """The ring leaves the old widget at once (a focused widget loses the focus before it is deleted,
    so the ring never dies with it) and moves onto the new one once the event loop is idle: after a
    window's first paint (its first focus comes before it), and once for a burst of focus changes."""
    ring = _state["ring"]
    if ring is not None and isValid(ring) and ring.parentWidget() is not None and ring.parentWidget() is not new:
        ring.follow(None)
    if not _state["pending"]:
        _state["pending"] = True
        QTimer.singleShot(0, _follow_focus)


def _follow_focus() -> None:
    _state["pending"] = False
    focused = QApplication.focusWidget()
    ring = _state["ring"]
    if focused is not None and focused.isWindow():
        focused = None
    if ring is None or not isValid(ring):  # first use, or deleted with the widget it was on
        if focused is None:
            return
        ring = _state["ring"] = FocusRing(*_state["colours"])
    ring.follow(focused)
