"""Window sizes that fit the screen: a window opens at its preferred size, or smaller on a small or a
scaled screen (1366 x 768 at 150 % is 910 x 512 logical pixels), never larger than the screen's
available area; its minimum size still wins (the window's layouts need it)."""
from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Share of the available area a default size may take: room for the title bar and frame, which are
# unknown before the window is shown.
SCREEN_SHARE = (0.96, 0.92)


def resize_to_fit(window: QWidget, width: int, height: int) -> None:
    """``window.resize(width, height)``, shrunk to fit the screen the window will open on."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width = min(width, int(area.width() * SCREEN_SHARE[0]))
        height = min(height, int(area.height() * SCREEN_SHARE[1]))
    minimum = window.minimumSizeHint()
    window.resize(max(width, minimum.width()), max(height, minimum.height()))
