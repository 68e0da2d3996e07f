"""The main window's centre: a placeholder text, then the image view (``image_view.ImageViewer``,
pyqtgraph: ~1 s to import, so it is built after the first paint) once it shows an image.

Cheap to create: a few PySide6 classes, nothing from pyqtgraph until ``ensure_viewer()``.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QTimer
from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from .i18n import translate

if TYPE_CHECKING:
    from .image_view import ImageViewer

EMPTY_TEXT = QT_TRANSLATE_NOOP("ImageArea", "Open images with Ctrl+O, or drop files here")


def file_name(path: str) -> str:
    """A file as its captions name it."""
    return os.path.basename(path) or path


class ImageArea(QStackedWidget):
    def __init__(self, overlay_enabled: bool, overlay_opacity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay_enabled, self.overlay_opacity = overlay_enabled, overlay_opacity
        self.placeholder = QLabel(translate("ImageArea", EMPTY_TEXT))
        self.placeholder.setObjectName("placeholder")  # centred by the style sheet
        self.placeholder.setWordWrap(True)
        self.addWidget(self.placeholder)
        self.setMinimumWidth(320)
        self.viewer: ImageViewer | None = None

    def ensure_viewer(self, paint_now: bool = False) -> ImageViewer:
        """The image view, built on first use. ``paint_now``: paint it once right away (same dark
        background as the placeholder), so its first-show cost is not paid when the first image opens."""
        if self.viewer is None:
            from .image_view import ImageViewer

            self.viewer = ImageViewer()
            self.viewer.set_overlay_opacity(self.overlay_opacity)
            self.viewer.set_overlay_enabled(self.overlay_enabled)
            self.addWidget(self.viewer)
            if paint_now:
                self.setCurrentWidget(self.viewer)
                QTimer.singleShot(0, self._back_to_placeholder)
        return self.viewer

    def _back_to_placeholder(self) -> None:
        if self.viewer is not None and not self.viewer.has_image:
            self.setCurrentWidget(self.placeholder)

    def show_text(self, text: str) -> None:
        self.placeholder.setText(text)
        self.setCurrentWidget(self.placeholder)

    def show_loading(self, text: str) -> None:
        """``text`` instead of the placeholder's; an image on screen stays until the next one is read."""
        if self.currentWidget() is self.placeholder:
            self.show_text(text)

    def show_image(self, loaded) -> None:
        """A core.io.LoadedImage in the image view."""
        viewer = self.ensure_viewer()
        viewer.set_image(loaded)
        if self.currentWidget() is not viewer:
            self.setCurrentWidget(viewer)

    def set_overlay_enabled(self, enabled: bool) -> None:
        self.overlay_enabled = enabled
        if self.viewer is not None:
            self.viewer.set_overlay_enabled(enabled)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay_opacity = opacity
        if self.viewer is not None:
            self.viewer.set_overlay_opacity(opacity)

    def fit(self) -> None:
        if self.viewer is not None:
            self.viewer.fit()

    def zoom(self, factor: float) -> None:
        if self.viewer is not None:
            self.viewer.zoom(factor)

    def reset_levels(self) -> None:
        if self.viewer is not None:
            self.viewer.reset_levels()
