"""The Inbox: a live triage worklist of the items the DICOM node and the watch folder bring in.

:class:`InboxModel` keeps its rows sorted by priority (``jobs.intake.InboxItem.priority``:
positive decisions first by probability, then the ones flagged for a human look - refused as
outside the training data, or not analysable -, then the rest; newest first within a group).
A batch from the intake job goes in with one ``beginInsertRows`` per contiguous run of new rows,
as ``scan_table.ScanTableModel`` does, so a fast node never causes a relayout per row; a repaint
asks the model once per cell for all its roles (``InboxModel.multiData``), not once per role.

Patient name / ID columns exist only while the user has turned them on (Settings → DICOM node);
the values live in the items, in memory, and are never written anywhere.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from typing import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from .display_names import FAMILY_ORDER, family_name
from .core_text import label_name, percent as format_probability
from .style import colours
from .i18n import translate

DISPLAY = Qt.ItemDataRole.DisplayRole
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's InboxItem
BASE_COLUMNS = ("arrived", "modality", "accession", "study_time")
IDENTITY_COLUMNS = ("patient_name", "patient_id")
HEADERS = {"arrived": QT_TRANSLATE_NOOP("Inbox", "Arrived"), "modality": QT_TRANSLATE_NOOP("Inbox", "Modality"), "accession": QT_TRANSLATE_NOOP("Inbox", "Accession no."), "study_time": QT_TRANSLATE_NOOP("Inbox", "Study time"),
           "patient_name": QT_TRANSLATE_NOOP("Inbox", "Patient"), "patient_id": QT_TRANSLATE_NOOP("Inbox", "Patient ID"), "look": QT_TRANSLATE_NOOP("Inbox", "Check")}


def decision_text(decision) -> str:
    if decision.error is not None:
        return "error"
    if decision.refused:
        return translate("Inbox", "⚠ outside training data")
    text = f"{label_name(decision.label)} {format_probability(decision.probability)}" if decision.probability is not None else "–"
    return f"▲ {text}" if decision.positive else text


class InboxModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list = []  # InboxItem, in display (priority) order
        self._keys: list[tuple] = []  # their priority keys, ascending
        self._positive = self._flagged = 0  # kept as rows go in: counts() never walks the list
        self.families: list[str] = []
        self.show_identity = False
        self.columns: list[str] = self._columns()

    def _columns(self) -> list[str]:
        identity = list(IDENTITY_COLUMNS) if self.show_identity else []
        return [*BASE_COLUMNS, *identity, *(f"family:{f}" for f in self.families), "look"]

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=DISPLAY):
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY and 0 <= section < len(self.columns):
            key = self.columns[section]
            return family_name(key[7:]) if key.startswith("family:") else translate("Inbox", HEADERS[key])
        return None

    def data(self, index, role=DISPLAY):
        row, col = index.row(), index.column()
        if not (0 <= row < len(self.items) and 0 <= col < len(self.columns)):
            return None
        item, key = self.items[row], self.columns[col]
        if role == ITEM_ROLE:
            return item
        if role == DISPLAY:
            return self._text(item, key)
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "look" or (key.startswith("family:") and self._refused_or_error(item, key[7:])):
                return QColor(colours().caution)
            if key.startswith("family:") and any(d.positive for d in self._of(item, key[7:])):
                return QColor(colours().error)
        if role == Qt.ItemDataRole.ToolTipRole and key == "look" and item.flagged:
            return item.failed or self.tr("A model refused this image (outside its training data): please look at it")
        return None

    def multiData(self, index, roles) -> None:
        """Every role a delegate asks for a cell, in ONE call from Qt (it asks ~7 per cell per paint): each
        Python call from Qt's paint takes the GIL again, and while the node's threads run, each take can
        wait a switch interval - a repaint of the table after a batch stalled the event loop 60-190 ms."""
        for role_data in roles:
            role_data.setData(self.data(index, role_data.role()))

    @staticmethod
    def _of(item, family: str) -> list:
        return [d for d in item.decisions if d.family == family]

    def _refused_or_error(self, item, family: str) -> bool:
        return any(d.refused or d.error for d in self._of(item, family))

    def _text(self, item, key: str) -> str:
        if key == "arrived":
            return time.strftime("%H:%M:%S", time.localtime(item.arrived))
        if key in ("modality", "accession", "study_time"):
            return getattr(item, key)
        if key in IDENTITY_COLUMNS:
            identity = item.identity if self.show_identity else None
            return "" if identity is None else identity[IDENTITY_COLUMNS.index(key)]
        if key == "look":
            return ("⚑ " + (self.tr("not analysed") if item.failed else self.tr("check"))) if item.flagged else ""
        return " / ".join(decision_text(d) for d in self._of(item, key[7:]))

    # ------------------------------------------------------------------ rows
    def set_families(self, families: Sequence[str]) -> None:
        """The model families whose decisions get a column (display order)."""
        ordered = sorted(set(families), key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else 99, f))
        if ordered != self.families:
            self.beginResetModel()
            self.families = ordered
            self.columns = self._columns()
            self.endResetModel()

    def set_identity_visible(self, visible: bool) -> None:
        if bool(visible) != self.show_identity:
            self.beginResetModel()
            self.show_identity = bool(visible)
            self.columns = self._columns()
            self.endResetModel()

    def set_identities(self, identities: dict) -> None:
        """path -> (name, ID), read on request for rows that arrived while they were hidden."""
        from dataclasses import replace

        for row, item in enumerate(self.items):
            if item.path in identities:
                self.items[row] = replace(item, identity=identities[item.path])
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, len(self.columns) - 1))

    def append(self, items: Sequence) -> None:
        """Insert a batch at its priority positions: one insert per contiguous run."""
        families = {d.family for item in items for d in item.decisions if d.family} - set(self.families)
        if families:
            self.set_families([*self.families, *families])
        new = sorted(((item.priority(), item) for item in items), key=lambda pair: pair[0])
        self._positive += sum(item.positive for item in items)
        self._flagged += sum(item.flagged and not item.positive for item in items)
        positions = [bisect_left(self._keys, key) for key, _ in new]  # in the list before the batch
        j = 0
        while j < len(new):
            k = j
            while k + 1 < len(new) and positions[k + 1] == positions[j]:
                k += 1
            at = positions[j] + j  # j earlier new rows already went in before this one
            self.beginInsertRows(QModelIndex(), at, at + k - j)
            self._keys[at:at] = [key for key, _ in new[j:k + 1]]
            self.items[at:at] = [item for _, item in new[j:k + 1]]
            self.endInsertRows()
            j = k + 1

    def clear(self) -> None:
        self.beginResetModel()
        self.items, self._keys = [], []
        self._positive = self._flagged = 0
        self.endResetModel()

    def counts(self) -> tuple[int, int, int]:
        """(items, positive, flagged)."""
        return len(self.items), self._positive, self._flagged


class InboxPanel(QWidget):
    """The inbox table and a caption; a click on a row asks to open its image."""

    openRequested = Signal(str)  # the stored file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = InboxModel(self)
        self.caption = QLabel(self.tr("Nothing received yet. Settings → DICOM node… or File → Watch folder… starts the "
                              "intake."))
        self.caption.setWordWrap(True)
        self.view = QTableView()
        self.view.setObjectName("inboxTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row sizing
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.clicked.connect(lambda index: self.open_row(index.row()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def append(self, items: Sequence) -> None:
        self.model.append(items)
        total, positive, flagged = self.model.counts()
        self.caption.setText(self.tr("{total} item(s): {positive} with a positive decision, {flagged} to check. Click a row to open the image.").format(total=total, positive=positive, flagged=flagged))

    def open_row(self, row: int) -> str:
        if not 0 <= row < len(self.model.items):
            return ""
        path = self.model.items[row].path
        if path:
            self.openRequested.emit(path)
        return path
