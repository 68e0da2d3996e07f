"""The review window's keys: 1, 2, … (one per class), S skip, Z undo, ←/→ move, H heat-map, as window
shortcuts (they work wherever the focus is in that window) and as a row of buttons that shows them,
the class names next to their keys."""
from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from .core_text import label_name

MAX_CLASSES = 9  # keys 1..9


class ReviewKeys(QWidget):
    def __init__(self, window: QWidget, label: Callable[[str | None], object], undo: Callable[[], object],
                 step: Callable[[int], object], toggle_heatmap: Callable[[], object]) -> None:
        """``window``: where the shortcuts live; ``label(name)`` (None: skip), ``undo()``, ``step(±1)``."""
        super().__init__(window)
        self.window_, self.on_label = window, label
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(10, 0, 10, 0)
        self.row.setSpacing(6)
        self.label_actions: list[QAction] = []
        self.skip_action = self._action(self.tr("S  skip"), "S", lambda: label(None), self.tr("Skip this image (S)"))
        self.undo_action = self._action(self.tr("Z  undo"), "Z", undo, self.tr("Undo the last label or skip (Z)"))
        self.prev_action = self._action("←", Qt.Key.Key_Left, lambda: step(-1), self.tr("Previous image (←)"))
        self.next_action = self._action("→", Qt.Key.Key_Right, lambda: step(1), self.tr("Next image (→)"))
        self.heat_action = self._action(self.tr("H  heat-map"), "H", toggle_heatmap,
                                        self.tr("Show or hide the selected model's heat-map (H)"))
        self._fill()

    def _action(self, text: str, key, slot, tip: str) -> QAction:
        action = QAction(text, self.window_)
        action.setShortcut(QKeySequence(key))
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False: slot())
        self.window_.addAction(action)  # a window shortcut
        return action

    def set_labels(self, labels: Sequence[str]) -> None:
        """One key per class, in the review set's label order."""
        for action in self.label_actions:
            self.window_.removeAction(action)
            action.deleteLater()
        self.label_actions = [self._action(f"{i + 1}  {label_name(name)}", str(i + 1), lambda n=name: self.on_label(n),
                                           self.tr("Label this image “{name}” ({value})").format(name=label_name(name), value=i + 1))
                              for i, name in enumerate(labels[:MAX_CLASSES])]
        self._fill()

    def _fill(self) -> None:
        while self.row.count():
            widget = self.row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for action in [*self.label_actions, self.skip_action, self.undo_action, self.prev_action, self.next_action,
                       self.heat_action]:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.row.addWidget(button)
        self.row.addStretch(1)
