"""The scan window's results table: a model that grows by whole batches, and a filtering proxy.

:class:`ScanTableModel` holds the core ``ScanResult`` rows in scan order (the CSV's and the audit
trail's ``row`` order) and shows them in that order or sorted by one column.

Sorting happens here, in the source model, not in ``QSortFilterProxyModel.sort``: the proxy's
C++ sort asks the Python model for two values per comparison, about 7 s for 30 000 rows on a
2-core box; a Python ``list.sort`` on precomputed keys takes a few ms. ``ScanFilterProxy.sort``
(what the view's header calls) forwards to :meth:`ScanTableModel.sort`, so the proxy itself never
sorts and keeps its rows in the source's order. While sorted, a new batch is inserted at its
sorted positions (one ``beginInsertRows`` per contiguous run: a run per batch when it lands in one
place); unsorted, a batch is one append.

:class:`ScanFilterProxy` filters by status, label and a minimum probability, reading the rows
directly (one cheap Python call per row, only for new rows or when a filter changes).
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QColor

from .i18n import translate
from .core_text import core_text, label_name, percent as format_probability
from .style import colours

DISPLAY = Qt.ItemDataRole.DisplayRole
RAW_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell's value: str, float or None
RESULT_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's ScanResult

BASE_ORDER = ("path", "model", "status", "label", "probability", "in_distribution")  # p_<label>..., error
HEADERS = {"path": QT_TRANSLATE_NOOP("ScanTable", "File"), "model": QT_TRANSLATE_NOOP("ScanTable", "Model"), "status": QT_TRANSLATE_NOOP("ScanTable", "Status"), "label": QT_TRANSLATE_NOOP("ScanTable", "Label"), "probability": QT_TRANSLATE_NOOP("ScanTable", "Probability"),
           "in_distribution": QT_TRANSLATE_NOOP("ScanTable", "In training range"), "error": QT_TRANSLATE_NOOP("ScanTable", "Error")}


def table_columns(csv_columns: Sequence[str]) -> list[str]:
    """The CSV's columns in table order: what a reader scans first, the (mostly empty) error last."""
    probs = [c for c in csv_columns if c.startswith("p_")]
    return [*(c for c in BASE_ORDER if c in csv_columns), *probs, *(c for c in csv_columns if c == "error")]


def header_text(key: str) -> str:
    return f"P({label_name(key[2:])})" if key.startswith("p_") else translate("ScanTable", HEADERS.get(key, key))


def cell_value(result, key: str) -> Any:
    """The raw value of one cell: str, float or None (a model without that class, an error row)."""
    if key.startswith("p_"):
        probs = result.probabilities
        return None if probs is None else probs.get(key[2:])
    if key == "in_distribution":  # "no": outside the training data, so the label is withheld
        return {True: "yes", False: "no"}.get(getattr(result, key, None))
    return getattr(result, key)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _display_text(key: str, value: Any) -> str:
    """A cell in the window's language: labels and error reasons translated, yes / no for the OOD check."""
    if key == "label":
        return label_name(value)
    if key == "error":
        return core_text(value)
    if key == "status" and value in ("ok", "error"):
        return translate("ScanTable", "OK") if value == "ok" else translate("ScanTable", "error")
    if isinstance(value, bool) or (key == "in_distribution" and value in ("True", "False")):
        return translate("ScanTable", "yes") if value in (True, "True") else translate("ScanTable", "no")
    return _text(value)


def _sort_key(value: Any, descending: bool) -> tuple:
    # Numbers by value, text case-insensitively; missing values last in either order (the
    # descending view is the ascending list read backwards, so there they sort first).
    if value is None:
        return (-1 if descending else 1, "")
    return (0, value.casefold() if isinstance(value, str) else value)


def _qt_index_list(indexes) -> list:
    return [QModelIndex(i) if isinstance(i, QPersistentModelIndex) else i for i in indexes]


class ScanTableModel(QAbstractTableModel):
    """Rows of one scan; :meth:`append` adds a whole batch at once."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.columns: list[str] = []  # keys (csv column names), table order
        self.results: list = []  # ScanResult, scan order
        self._sort_column = -1
        self._descending = False
        self._asc: list[tuple] = []  # (sort key, tie-break, scan index) ascending, while sorted

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._rows()

    def _rows(self) -> int:
        # while sorted, a batch becomes visible run by run: rows are the ones already in _asc
        return len(self._asc) if self._sort_column >= 0 else len(self.results)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=DISPLAY):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            key = self.columns[section]
            if role == DISPLAY:
                return header_text(key)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tr("Probability of the model's label") if key == "probability" else key
        return None

    def data(self, index, role=DISPLAY):
        row, col = index.row(), index.column()
        if not (0 <= row < self._rows() and 0 <= col < len(self.columns)):
            return None
        result = self.results[self.scan_index(row)]
        if role == DISPLAY:
            key = self.columns[col]
            value = cell_value(result, key)
            if isinstance(value, float) and (key == "probability" or key.startswith("p_")):
                return format_probability(value)
            return _display_text(key, value)
        if role == RAW_ROLE:
            return cell_value(result, self.columns[col])
        if role == RESULT_ROLE:
            return result
        key = self.columns[col]
        if role == Qt.ItemDataRole.ToolTipRole and key in ("path", "error"):
            return _text(cell_value(result, key)) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and (key == "probability" or key.startswith("p_")):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and result.status != "ok" and key in ("status", "error"):
            return QColor(colours().error)
        return None

    # ------------------------------------------------------------------ rows
    def reset(self, columns: Sequence[str]) -> None:
        """Empty table with these column keys (a new scan); the sort column is kept when it still exists."""
        key = self.columns[self._sort_column] if self._sort_column >= 0 else None
        self.beginResetModel()
        self.columns = list(columns)
        self.results = []
        self._asc = []
        self._sort_column = self.columns.index(key) if key in self.columns else -1
        self.endResetModel()

    def scan_index(self, row: int) -> int:
        """Display row -> index into ``results`` (scan order)."""
        if self._sort_column < 0:
            return row
        if self._descending:
            row = len(self._asc) - 1 - row
        return self._asc[row][2]

    def _entry(self, value: Any, index: int) -> tuple:
        # (key, tie-break, scan index): equal keys keep scan order in both directions
        return (_sort_key(value, self._descending), -index if self._descending else index, index)

    def result(self, row: int):
        return self.results[self.scan_index(row)]

    def append(self, results: Sequence) -> None:
        """Add a batch of rows: one insert when unsorted, one per contiguous run when sorted."""
        if not results:
            return
        start = len(self.results)
        if self._sort_column < 0:
            self.beginInsertRows(QModelIndex(), start, start + len(results) - 1)
            self.results.extend(results)
            self.endInsertRows()
            return
        key = self.columns[self._sort_column]
        new = sorted(self._entry(cell_value(r, key), start + i) for i, r in enumerate(results))
        positions = [bisect_right(self._asc, item) for item in new]  # in the list before the batch
        self.results.extend(results)  # data() only reaches them through _asc
        j = 0
        while j < len(new):
            k = j
            while k + 1 < len(new) and positions[k + 1] == positions[j]:
                k += 1
            run = new[j:k + 1]
            at = positions[j] + j  # ascending position now (j earlier items already went in)
            length = len(self._asc)
            first = length - at if self._descending else at
            self.beginInsertRows(QModelIndex(), first, first + len(run) - 1)
            self._asc[at:at] = run
            self.endInsertRows()
            j = k + 1

    # ------------------------------------------------------------------ sorting
    @property
    def sort_column(self) -> int:
        return self._sort_column

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (-1: scan order); keeps selections (persistent indexes) on their rows."""
        column = column if 0 <= column < len(self.columns) else -1
        descending = order == Qt.SortOrder.DescendingOrder
        if column == self._sort_column and (column < 0 or descending == self._descending):
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [(self.scan_index(i.row()), i.column()) for i in persistent]
        self._sort_column, self._descending = column, descending
        if column < 0:
            self._asc = []
        else:
            key = self.columns[column]
            self._asc = sorted(self._entry(cell_value(r, key), i) for i, r in enumerate(self.results))
        if persistent:
            where = [0] * len(self.results)  # scan index -> display row
            for row in range(len(self.results)):
                where[self.scan_index(row)] = row
            self.changePersistentIndexList(
                _qt_index_list(persistent), [self.index(where[scan], col) for scan, col in before])
        self.layoutChanged.emit()


class ScanFilterProxy(QSortFilterProxyModel):
    """Status / label / minimum-probability filters; sorting is delegated to the source model."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.status: str | None = None  # "ok" | "error" | None (all)
        self.label: str | None = None
        self.min_probability = 0.0  # 0: off; above 0, rows without a probability are hidden
        self._source: ScanTableModel | None = None

    def set_filters(self, status: str | None = ..., label: str | None = ..., min_probability: float | None = ...
                    ) -> None:
        """Change any of the filters (an omitted argument keeps its value)."""
        new = (self.status if status is ... else status or None,
               self.label if label is ... else label or None,
               self.min_probability if min_probability is ... else max(0.0, float(min_probability or 0.0)))
        if new == (self.status, self.label, self.min_probability):
            return
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10: invalidateFilter() is deprecated
            self.beginFilterChange()
            self.status, self.label, self.min_probability = new
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.status, self.label, self.min_probability = new
            self.invalidateFilter()

    def setSourceModel(self, model: ScanTableModel) -> None:
        self._source = model  # filterAcceptsRow runs once per row: skip the sourceModel() lookup
        super().setSourceModel(model)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        result = self._source.result(source_row)
        if self.status is not None and result.status != self.status:
            return False
        if self.label is not None and result.label != self.label:
            return False
        if self.min_probability > 0.0 and (result.probability is None or result.probability < self.min_probability):
            return False
        return True

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self._source.sort(column, order)

    def result(self, row: int):
        """The ScanResult shown in proxy row ``row``."""
        return self._source.result(self.mapToSource(self.index(row, 0)).row())
