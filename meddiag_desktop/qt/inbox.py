"""The Inbox: a live triage worklist of the items the DICOM node and the watch folder bring in.

:class:`InboxModel` keeps its rows sorted by priority (``jobs.intake.InboxItem.priority``:
positive decisions first by probability, then the ones flagged for a human look - refused as
outside the training data, or not analysable -, then the rest; newest first within a group).
A batch from the intake job goes in with one ``beginInsertRows`` per contiguous run of new rows,
as ``scan_table.ScanTableModel`` does, so a fast node never causes a relayout per row; the cells
live in Qt (a ``QStandardItemModel``), so repainting the table runs no Python while the node's threads
hold the GIL.

Patient name / ID columns exist only while the user has turned them on (Settings → DICOM node);
the values live in the items, in memory, and are never written anywhere.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from typing import Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from .display_names import FAMILY_ORDER, family_name
from .core_text import label_name, percent as format_probability
from .style import colours
from .i18n import translate

DISPLAY = Qt.ItemDataRole.DisplayRole
# Rows put in per event-loop turn: a 30-row batch in one go held the GUI thread ~45 ms while the node's
# threads competed for the GIL (each Qt call can wait a switch interval); 8 rows keep a turn short.
ROWS_PER_TURN = 8
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


class InboxModel(QStandardItemModel):
    """The rows, kept in Qt: every cell's text, colour, tool tip and ``InboxItem`` (``ITEM_ROLE``) are set
    when its row goes in, so a repaint runs no Python. A Python model answered ~900 calls from Qt per
    30-row batch (rowCount / columnCount per index, data per role): each takes the GIL again, and while
    the node's threads run, each take can wait a switch interval - the window stalled 60-190 ms per batch."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.items: list = []  # InboxItem, in display (priority) order
        self._keys: list[tuple] = []  # their priority keys, ascending
        self._positive = self._flagged = 0  # kept as rows go in: counts() never walks the list
        self.families: list[str] = []
        self.show_identity = False
        self.columns: list[str] = []
        self._set_columns()

    def _set_columns(self) -> None:
        identity = list(IDENTITY_COLUMNS) if self.show_identity else []
        self.columns = [*BASE_COLUMNS, *identity, *(f"family:{f}" for f in self.families), "look"]
        self.setColumnCount(len(self.columns))
        self.setHorizontalHeaderLabels([family_name(key[7:]) if key.startswith("family:")
                                        else translate("Inbox", HEADERS[key]) for key in self.columns])

    def _rebuild(self) -> None:
        """Every row again (the columns or the identities changed: rare)."""
        self.setRowCount(0)
        self._set_columns()
        self._put(0, [self._cells(item) for item in self.items])

    def _put(self, at: int, rows: list[list[QStandardItem]]) -> None:
        """``rows`` inserted at ``at`` with one ``rowsInserted``, then their cells."""
        if rows:
            self.insertRows(at, len(rows))
            for offset, cells in enumerate(rows):
                for column, cell in enumerate(cells):
                    self.setItem(at + offset, column, cell)

    def _cells(self, item) -> list[QStandardItem]:
        cells = []
        for key in self.columns:
            cell = QStandardItem(self._text(item, key))
            cell.setEditable(False)
            cell.setData(item, ITEM_ROLE)
            if key == "look" or (key.startswith("family:") and self._refused_or_error(item, key[7:])):
                cell.setForeground(QColor(colours().caution))
            elif key.startswith("family:") and any(d.positive for d in self._of(item, key[7:])):
                cell.setForeground(QColor(colours().error))
            if key == "look" and item.flagged:
                cell.setToolTip(item.failed or self.tr("A model refused this image (outside its training data): "
                                                       "please look at it"))
            cells.append(cell)
        return cells

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
            self.families = ordered
            self._rebuild()

    def set_identity_visible(self, visible: bool) -> None:
        if bool(visible) != self.show_identity:
            self.show_identity = bool(visible)
            self._rebuild()

    def set_identities(self, identities: dict) -> None:
        """path -> (name, ID), read on request for rows that arrived while they were hidden."""
        from dataclasses import replace

        for row, item in enumerate(self.items):
            if item.path in identities:
                self.items[row] = replace(item, identity=identities[item.path])
        if self.items:
            self._rebuild()

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
            run = [item for _, item in new[j:k + 1]]
            rows = [self._cells(item) for item in run]
            self._keys[at:at] = [key for key, _ in new[j:k + 1]]
            self.items[at:at] = run
            self._put(at, rows)
            j = k + 1

    def clear(self) -> None:
        self.items, self._keys = [], []
        self._positive = self._flagged = 0
        self._rebuild()

    def counts(self) -> tuple[int, int, int]:
        """(items, positive, flagged)."""
        return len(self.items), self._positive, self._flagged


class InboxPanel(QWidget):
    """The inbox table and a caption; a click on a row asks to open its image."""

    openRequested = Signal(str)  # the stored file
    changed = Signal()  # rows went in: the counts changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = InboxModel(self)
        self._pending: list = []  # items of batches not in the table yet (ROWS_PER_TURN a turn)
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
        """Queue a batch: its first ``ROWS_PER_TURN`` rows go in now, the rest one turn of the event loop
        at a time (timers and input run between), in priority order whatever the chunks."""
        busy = bool(self._pending)
        self._pending.extend(items)
        if not busy:
            self._put_some()

    @Slot()
    def _put_some(self) -> None:
        chunk, self._pending = self._pending[:ROWS_PER_TURN], self._pending[ROWS_PER_TURN:]
        self.model.append(chunk)
        total, positive, flagged = self.model.counts()
        self.caption.setText(self.tr("{total} item(s): {positive} with a positive decision, {flagged} to check. Click a row to open the image.").format(total=total, positive=positive, flagged=flagged))
        self.changed.emit()
        if self._pending:
            QTimer.singleShot(0, self, self._put_some)

    def open_row(self, row: int) -> str:
        if not 0 <= row < len(self.model.items):
            return ""
        path = self.model.items[row].path
        if path:
            self.openRequested.emit(path)
        return path
