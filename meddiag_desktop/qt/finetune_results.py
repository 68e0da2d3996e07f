"""The fine-tune dialog's results page: base vs fine-tuned on the same validation set (metrics with
bootstrap 95 % CIs), confusion matrices, the reliability diagram with ECE before / after calibration,
the operating-point picker and "Save as a new version". It shows; the dialog runs the jobs."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
    QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from .i18n import translate
from ..core.metric_ci import MetricCI, format_metric, format_metric_ci, headline_metrics
from ..core.metrics import rule_from_name
from ..core.training_events import Comparison, Evaluation
from .core_text import metric_name
from .plot_theme import theme_curve, theme_plot
from .style import Colours, colours, on_theme_change

RULES = (("youden", QT_TRANSLATE_NOOP("FinetuneResults", "Balanced (Youden's J)")), ("sensitivity", QT_TRANSLATE_NOOP("FinetuneResults", "Target sensitivity")),
         ("specificity", QT_TRANSLATE_NOOP("FinetuneResults", "Target specificity")),
         ("cost", QT_TRANSLATE_NOOP("FinetuneResults", "Cost: a missed positive counts R times a false alarm")))


def report_metric(evaluation: Evaluation | None, name: str) -> MetricCI | None:
    """One metric with its CI from an evaluation's report; None without one."""
    return None if evaluation is None else MetricCI.from_dict(evaluation.report.get(name))


def metric_cell(metric: MetricCI | None) -> str:
    return "–" if metric is None else format_metric_ci(metric, dash="–")


def _table(rows: int = 0, cols: int = 0) -> QTableWidget:
    table = QTableWidget(rows, cols)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def _item(text: str, bold: bool = False, align=Qt.AlignmentFlag.AlignCenter) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(align)
    if bold:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    return item


class ResultsPage(QWidget):
    applyRequested = Signal()  # "Apply" the chosen operating point
    saveRequested = Signal()  # "Save version"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        self.compare_box = compare_box = QGroupBox(self.holdout_title())
        box = QVBoxLayout(compare_box)
        self.comparison_table = _table()
        box.addWidget(self.comparison_table)
        self.comparison_note = QLabel("")
        self.comparison_note.setWordWrap(True)
        box.addWidget(self.comparison_note)
        layout.addWidget(compare_box, 0, 0)

        cm_box = QGroupBox(self.tr("Confusion matrices (rows: true class, columns: predicted)"))
        cm_layout = QHBoxLayout(cm_box)
        self.cm_tables = {}
        for key, title in (("base", self.tr("Base")), ("new", self.tr("Fine-tuned"))):
            column = QVBoxLayout()
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            column.addWidget(label)
            self.cm_tables[key] = _table()
            column.addWidget(self.cm_tables[key])
            cm_layout.addLayout(column)
        layout.addWidget(cm_box, 1, 0)

        calib_box = QGroupBox(self.tr("Calibration (reliability diagram)"))
        calib = QVBoxLayout(calib_box)
        self.reliability = pg.PlotWidget()
        self.reliability.setLabel("bottom", "confidence")
        self.reliability.setLabel("left", "accuracy")
        self.reliability.setXRange(0, 1, padding=0.02)
        self.reliability.setYRange(0, 1, padding=0.02)
        self.reliability.setMouseEnabled(x=False, y=False)
        self.reliability.getPlotItem().setMenuEnabled(False)
        self.reliability.addLegend(offset=(10, -10))
        self.perfect_curve = self.reliability.plot([0, 1], [0, 1], name="perfect")
        self.reliability_curves = {
            "uncalibrated": self.reliability.plot(symbol="o", symbolSize=5, name="fine-tuned, before calibration"),
            "calibrated": self.reliability.plot(symbol="o", symbolSize=5, name="fine-tuned, calibrated"),
            "base": self.reliability.plot(symbol="t", symbolSize=5, name="base"),
        }
        on_theme_change(self._apply_theme)
        calib.addWidget(self.reliability, 1)
        self.ece_label = QLabel("")
        self.ece_label.setWordWrap(True)
        calib.addWidget(self.ece_label)
        layout.addWidget(calib_box, 0, 1)

        right = QVBoxLayout()
        self.op_box = op_box = QGroupBox(self.tr("Operating point (fitted on validation)"))
        op = QGridLayout(op_box)
        self.rule_combo = QComboBox()
        for key, text in RULES:
            self.rule_combo.addItem(translate("FinetuneResults", text), key)
        self.rule_combo.currentIndexChanged.connect(lambda _: self._show_target_box())
        self.target_spin = QDoubleSpinBox()  # the sensitivity / specificity to reach
        self.target_spin.setRange(0.5, 0.999)
        self.target_spin.setDecimals(3)
        self.target_spin.setSingleStep(0.01)
        self.target_spin.setValue(0.95)
        self.target_spin.setEnabled(False)
        self.cost_spin = QDoubleSpinBox()  # R of the cost rule: threshold 1 / (1 + R) on the calibrated probability
        self.cost_spin.setRange(0.1, 100.0)
        self.cost_spin.setDecimals(1)
        self.cost_spin.setSingleStep(0.5)
        self.cost_spin.setValue(2.0)
        self.cost_spin.setPrefix(self.tr("R = "))
        self.cost_spin.setToolTip(self.tr("Positive when the calibrated probability is at least 1 / (1 + R): R = 1 "
                                          "weighs both errors alike, R = 3 accepts three false alarms to avoid one "
                                          "missed positive."))
        self.cost_spin.setAccessibleName(self.tr("Cost ratio R"))
        self.cost_spin.hide()
        self.apply_button = QPushButton(self.tr("Apply"))
        self.apply_button.clicked.connect(self.applyRequested)
        op.addWidget(self.rule_combo, 0, 0)
        op.addWidget(self.target_spin, 0, 1)
        op.addWidget(self.cost_spin, 0, 1)
        op.addWidget(self.apply_button, 0, 2)
        self.threshold_label = QLabel("")
        self.threshold_label.setWordWrap(True)
        op.addWidget(self.threshold_label, 1, 0, 1, 3)
        right.addWidget(op_box)

        save_box = QGroupBox(self.tr("Save as a new version"))
        form = QFormLayout(save_box)
        self.name_edit = QLineEdit()
        form.addRow(self.tr("Name:"), self.name_edit)
        self.activate_check = QCheckBox(self.tr("Make it the active model (the previous one stays for rollback)"))
        self.activate_check.setChecked(True)
        form.addRow("", self.activate_check)
        self.save_button = QPushButton(self.tr("Save version"))
        self.save_button.clicked.connect(self.saveRequested)
        self.save_button.setEnabled(False)
        form.addRow("", self.save_button)
        self.saved_label = QLabel("")
        self.saved_label.setWordWrap(True)
        form.addRow(self.saved_label)
        right.addWidget(save_box)
        right.addStretch(1)
        holder = QWidget()
        holder.setLayout(right)
        layout.addWidget(holder, 1, 1)
        layout.setColumnStretch(0, 3)
        layout.setColumnStretch(1, 2)

    def holdout_title(self) -> str:
        return self.tr("Base vs fine-tuned on the same validation set (95 % bootstrap CIs)")

    def show_comparison(self, comparison: Comparison, card, suggested_name: str) -> None:
        """Base vs new: metrics with CIs, confusion matrices, reliability and the operating point of ``card``."""
        base_name = comparison.base.model_id if comparison.base else "base"
        names = headline_metrics(len(comparison.labels))
        table = self.comparison_table
        table.clear()
        table.setRowCount(len(names) + 2)
        table.setColumnCount(2)
        table.setHorizontalHeaderLabels([self.tr("Base: {base_name}").format(base_name=base_name), self.tr("Fine-tuned")])
        table.setVerticalHeaderLabels([metric_name(k) for k in names] + [self.tr("ECE (before → after)"), self.tr("Threshold")])
        for r, name in enumerate(names):
            base, new = report_metric(comparison.base, name), report_metric(comparison.new, name)
            better = base is not None and new is not None and (new.value or 0) > (base.value or 0)
            table.setItem(r, 0, _item(metric_cell(base)))
            table.setItem(r, 1, _item(metric_cell(new), bold=better))
        for c, ev in enumerate((comparison.base, comparison.new)):
            ece = "–" if ev is None else \
                f"{format_metric(ev.report.get('ece_uncalibrated'), 4)} → {format_metric(ev.report.get('ece'), 4)}"
            threshold = "–" if ev is None or ev.threshold is None else f"{ev.threshold:.3f}"
            table.setItem(len(names), c, _item(ece))
            table.setItem(len(names) + 1, c, _item(threshold))
        validated = comparison.out_of_fold
        self.compare_box.setTitle(self.holdout_title() if validated is None else self.tr(
            "Base vs fine-tuned on the same {n} images - fine-tuned: {folds}-fold cross-validated, out-of-fold "
            "(95 % bootstrap CIs)").format(n=validated.n, folds=validated.folds))
        self.op_box.setTitle(self.tr("Operating point (fitted on validation)") if validated is None else
                             self.tr("Operating point (fitted on the out-of-fold predictions)"))
        notes = [] if comparison.base else [self.tr("No base column: {base_note}.").format(base_note=comparison.base_note)]
        if validated is not None:
            notes.append(self.tr("Each image was scored by the fold model that did not train on it; the model you "
                                 "save is one more, trained on all {n} images with the same schedule.").format(n=validated.n))
        self.comparison_note.setText(" ".join(notes))
        for key, ev in (("base", comparison.base), ("new", comparison.new)):
            self._fill_confusion(self.cm_tables[key], ev, comparison.labels)
        self._fill_reliability(comparison)
        self._fill_threshold(comparison, card)
        self.name_edit.setPlaceholderText(self.tr("automatic: {suggested_name}").format(suggested_name=suggested_name))
        self.save_button.setEnabled(True)

    @staticmethod
    def _fill_confusion(table: QTableWidget, evaluation, labels) -> None:
        table.clear()
        if evaluation is None:
            table.setRowCount(0)
            table.setColumnCount(0)
            return
        matrix = evaluation.report.get("confusion_matrix") or []
        table.setRowCount(len(labels))
        table.setColumnCount(len(labels))
        table.setHorizontalHeaderLabels(list(labels))
        table.setVerticalHeaderLabels(list(labels))
        for r, row in enumerate(matrix):
            for c, value in enumerate(row):
                item = _item(str(value), bold=r == c)
                if r == c:
                    item.setBackground(QColor(colours().ok_background))
                table.setItem(r, c, item)

    def _apply_theme(self, theme: Colours) -> None:
        theme_plot(self.reliability, theme)
        self.perfect_curve.setPen(pg.mkPen(theme.curves["perfect"], style=Qt.PenStyle.DashLine))
        for key, curve in self.reliability_curves.items():
            theme_curve(curve, theme.curves[key], width=1 if key == "base" else 2, symbol=True)

    def _fill_reliability(self, comparison: Comparison) -> None:
        def points(curve):
            pairs = [(x, y) for x, y in zip(curve["confidence"], curve["accuracy"]) if x is not None and y is not None]
            return [p[0] for p in pairs], [p[1] for p in pairs]

        new = comparison.new.reliability
        self.reliability_curves["uncalibrated"].setData(*points(new["uncalibrated"]))
        self.reliability_curves["calibrated"].setData(*points(new["calibrated"]))
        base = comparison.base.reliability["calibrated"] if comparison.base else {"confidence": [], "accuracy": []}
        self.reliability_curves["base"].setData(*points(base))
        report = comparison.new.report
        text = (self.tr("Fine-tuned ECE {format_metric} before calibration, {format_metric2} after (temperature {temperature:.3f})").format(format_metric=format_metric(report.get('ece_uncalibrated'), 4), format_metric2=format_metric(report.get('ece'), 4), temperature=comparison.new.temperature))
        if comparison.base:
            text += self.tr("; base ECE {format_metric}").format(format_metric=format_metric(comparison.base.report.get('ece'), 4))
        self.ece_label.setText(text + ".")

    def _fill_threshold(self, comparison: Comparison, card) -> None:
        if card is None or card.threshold is None:
            self.threshold_label.setText(self.tr("Multi-class model: the most probable class is predicted."))
            self.rule_combo.setEnabled(False)
            self.apply_button.setEnabled(False)
            return
        rule = card.metrics.get("threshold_rule", "youden")
        sensitivity, specificity = (report_metric(comparison.new, k) for k in ("sensitivity", "specificity"))
        self.threshold_label.setText(
            (self.tr("Positive ({positive_label}) when P ≥ {threshold:.3f} [{rule}]: sensitivity {format_metric}, specificity {format_metric2} on validation.")
             if comparison.out_of_fold is None else
             self.tr("Positive ({positive_label}) when P ≥ {threshold:.3f} [{rule}]: sensitivity {format_metric}, specificity {format_metric2} out-of-fold.")
             ).format(positive_label=card.positive_label, threshold=card.threshold, rule=rule, format_metric=format_metric(sensitivity and sensitivity.value), format_metric2=format_metric(specificity and specificity.value)))
        self.set_operating_point(*rule_from_name(str(rule)))  # the picker starts at the rule the card was fitted with
        self.rule_combo.setEnabled(True)
        self.apply_button.setEnabled(True)

    def rule(self) -> str:
        return self.rule_combo.currentData()

    def target(self) -> float | None:
        """The chosen rule's number: the sensitivity / specificity to reach, the cost ratio R, None for Youden."""
        rule = self.rule()
        return None if rule == "youden" else (self.cost_spin if rule == "cost" else self.target_spin).value()

    def set_operating_point(self, rule: str, target: float | None = None) -> None:
        self.rule_combo.setCurrentIndex(self.rule_combo.findData(rule))
        if target is not None:
            (self.cost_spin if rule == "cost" else self.target_spin).setValue(target)

    def _show_target_box(self) -> None:
        rule = self.rule()
        self.target_spin.setEnabled(rule in ("sensitivity", "specificity"))
        self.target_spin.setVisible(rule != "cost")
        self.cost_spin.setVisible(rule == "cost")
