"""The scan window's results: the filter row (status, label, minimum probability, the export
buttons) and the table of rows (:class:`~.scan_table.ScanTableModel` behind a
:class:`~.scan_table.ScanFilterProxy`; the header sorts, in the source model, see ``scan_table``).

It shows rows and asks for exports; the scan window runs the jobs. Double-clicking a row emits
``openRequested(path)``. ``summary_text`` is the scan's closing line under the table.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QModelIndex, QT_TRANSLATE_NOOP, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView,
    QVBoxLayout, QWidget,
)

from .guard import gui_only
from .review_launcher import ReviewLauncher
from .scan_table import RESULT_ROLE, ScanFilterProxy, ScanTableModel
from .core_text import label_name
from .i18n import translate

STATUS_CHOICES = ((QT_TRANSLATE_NOOP("ScanResults", "All statuses"), None), (QT_TRANSLATE_NOOP("ScanResults", "OK only"), "ok"), (QT_TRANSLATE_NOOP("ScanResults", "Errors only"), "error"))
COLUMN_WIDTHS = {"path": 340, "model": 150, "status": 60, "label": 100, "probability": 90, "error": 260}


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def summary_text(progress, cancelled: bool = False) -> str:
    """One line: files, ok, errors, seconds, files/s (the CLI's closing line, less the paths)."""
    if progress is None:
        return translate("ScanResults", "Scan cancelled before any file was read.") if cancelled else translate("ScanResults", "No files scanned.")
    head = (translate("ScanResults", "Cancelled after {done} of {total} files").format(done=progress.done, total=progress.total) if cancelled
            else translate("ScanResults", "Scanned {done} files").format(done=progress.done))
    skipped = translate("ScanResults", ", {skipped} non-image skipped").format(skipped=progress.skipped) if progress.skipped else ""
    return (translate("ScanResults", "{head}: {ok} ok, {errors} errors{skipped}, {elapsed_s:.1f} s, {rate:.1f} files/s").format(head=head, ok=progress.ok, errors=progress.errors, skipped=skipped, elapsed_s=progress.elapsed_s, rate=progress.rate))


class ScanResultsPanel(QWidget):
    openRequested = Signal(str)  # a row was double-clicked
    exportRequested = Signal()  # "Export CSV…"
    anonymizeRequested = Signal()  # "Export anonymised DICOM copies…"
    dicomRequested = Signal()  # "Export DICOM results…"
    rowsChanged = Signal()  # rows arrived, were cleared or filtered

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_combo = QComboBox()
        for text, value in STATUS_CHOICES:
            self.status_combo.addItem(translate("ScanResults", text), value)
        self.status_combo.setToolTip(self.tr("Show every row, only the files read, or only the errors"))
        self.label_combo = QComboBox()
        self.label_combo.addItem(self.tr("All labels"), None)
        self.label_combo.setToolTip(self.tr("Show only the rows with this label"))
        self.label_combo.setMinimumContentsLength(12)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setPrefix(self.tr("Probability ≥ "))
        self.threshold_spin.setSpecialValueText(self.tr("Any probability"))
        self.threshold_spin.setToolTip(self.tr("Show only the rows whose probability (of their label) is at least this"))
        self.threshold_spin.setAccessibleName(self.tr("Minimum probability"))
        self.rows_label = QLabel("")
        self.export_button = QPushButton(self.tr("Export CSV…"))
        self.export_button.setToolTip(self.tr("Save every row (scan order, the command line's columns) as a CSV file"))
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.exportRequested)
        self.anon_button = QPushButton(self.tr("Export anonymised DICOM copies…"))
        self.anon_button.setToolTip(self.tr("Write de-identified copies (PS3.15 basic profile) of the scanned DICOM files "
                                    "into a folder; text burned into the pixels is not removed"))
        self.anon_button.setEnabled(False)
        self.anon_button.clicked.connect(self.anonymizeRequested)
        self.dicom_button = QPushButton(self.tr("Export DICOM results…"))
        self.dicom_button.setToolTip(self.tr("Write a DICOM structured report and heat-map secondary captures for every "
                                     "scanned DICOM file into a folder (in each file's own study)"))
        self.dicom_button.setEnabled(False)
        self.dicom_button.clicked.connect(self.dicomRequested)
        self.review_launcher = ReviewLauncher(lambda: self.results)  # "Review uncertain cases…"
        for combo in (self.status_combo, self.label_combo):
            combo.currentIndexChanged.connect(self.apply_filters)
        self.threshold_spin.valueChanged.connect(self.apply_filters)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("Show:")))
        filters.addWidget(self.status_combo)
        filters.addWidget(self.label_combo)
        filters.addWidget(self.threshold_spin)
        filters.addSpacing(12)
        filters.addWidget(self.rows_label)
        filters.addStretch(1)
        filters.addWidget(self.review_launcher)
        filters.addWidget(self.export_button)
        filters.addWidget(self.anon_button)
        filters.addWidget(self.dicom_button)

        self.caption = QLabel("")  # what was scanned
        self.caption.setObjectName("panelStatus")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = ScanTableModel(self)
        self.proxy = ScanFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # a long path keeps its file name
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row measuring
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # scan order until a header is clicked
        header.setSortIndicatorClearable(True)  # third click: back to scan order
        self.table.setSortingEnabled(True)
        self.table.setToolTip(self.tr("Double-click a row to open the image in the main window"))
        self.table.setAccessibleName(self.tr("Scan results"))
        self.table.doubleClicked.connect(self._on_double_click)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(self.update_rows_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 0, 10, 0)
        layout.addLayout(filters)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    @property
    def results(self) -> list:
        """Every row's ``ScanResult``, in scan order."""
        return self.model.results

    def reset(self, columns: Sequence[str], labels: Sequence[str], caption: str) -> None:
        """An empty table with these columns; the label filter offers ``labels`` (keeping its choice)."""
        self.model.reset(columns)
        for col, key in enumerate(self.model.columns):
            self.table.setColumnWidth(col, COLUMN_WIDTHS.get(key, 95))
        self.label_combo.blockSignals(True)
        current = self.label_combo.currentData()
        self.label_combo.clear()
        self.label_combo.addItem(self.tr("All labels"), None)
        for label in dict.fromkeys(labels):
            self.label_combo.addItem(label_name(label), label)
        self.label_combo.setCurrentIndex(max(0, self.label_combo.findData(current)))
        self.label_combo.blockSignals(False)
        self.apply_filters()
        self.caption.setText(caption)

    def append(self, rows: Sequence) -> None:
        self.model.append(rows)

    def set_exports_enabled(self, enabled: bool) -> None:
        self.export_button.setEnabled(enabled)
        self.anon_button.setEnabled(enabled)
        self.dicom_button.setEnabled(enabled)
        self.review_launcher.setEnabled(enabled)

    # ------------------------------------------------------------------ filters
    @Slot()
    @gui_only
    def apply_filters(self, *_) -> None:
        self.proxy.set_filters(status=self.status_combo.currentData(), label=self.label_combo.currentData(),
                               min_probability=self.threshold_spin.value())
        self.update_rows_label()

    def set_filters(self, status: str | None = None, label: str | None = None, min_probability: float = 0.0) -> None:
        """What the filter widgets do, for code and tests: status ok|error|None, label, minimum probability."""
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(status)))
        self.label_combo.setCurrentIndex(max(0, self.label_combo.findData(label)))
        self.threshold_spin.setValue(min_probability)
        self.apply_filters()

    @Slot()
    @gui_only
    def update_rows_label(self, *_) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.rows_label.setText(self.tr("{total} rows").format(total=total) if shown == total else self.tr("showing {shown} of {total} rows").format(shown=shown, total=total))
        self.rowsChanged.emit()

    # ------------------------------------------------------------------ opening a row
    @Slot(QModelIndex)
    @gui_only
    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_row(index.row())

    def open_row(self, row: int) -> str:
        """Ask for the file of (proxy) row ``row`` to be shown in the main window."""
        path = self.proxy.index(row, 0).data(RESULT_ROLE).path
        self.openRequested.emit(path)
        return path
