"""The scan window's "Review uncertain cases" button and its budget: asks for a review queue of the
scan's rows (the main window's ``ChildWindows`` opens the review window, which builds the queue)."""
from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QWidget

from .jobs.review import DEFAULT_BUDGET


class ReviewLauncher(QWidget):
    requested = Signal(object, int)  # the scan's rows (core ScanResult), the budget

    def __init__(self, rows: Callable[[], Sequence], parent: QWidget | None = None) -> None:
        """``rows()``: the scan's rows at the time of the click."""
        super().__init__(parent)
        self.rows = rows
        self.budget_spin = QSpinBox()
        self.budget_spin.setRange(1, 100_000)
        self.budget_spin.setValue(DEFAULT_BUDGET)
        self.budget_spin.setPrefix(self.tr("Budget "))
        self.budget_spin.setToolTip(self.tr("How many images to queue for review: the labels you mean to give"))
        self.button = QPushButton(self.tr("Review uncertain cases…"))
        self.button.setToolTip(self.tr("Rank the scanned images by how much a label would teach the models (closeness "
                               "to the threshold, disagreement, near the training data's edge, plus a random "
                               "share) and label them one by one"))
        self.button.clicked.connect(self.request)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.budget_spin)
        layout.addWidget(self.button)
        self.setEnabled(False)

    def request(self) -> None:
        rows = tuple(self.rows())
        if rows:
            self.requested.emit(rows, self.budget_spin.value())
