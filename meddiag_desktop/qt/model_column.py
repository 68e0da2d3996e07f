"""One model's column in the predictions panel: its top label, a bar per class, the decision at its
operating point, version, metrics and device.

Results are duck-typed ``core.inference.Result`` records and cards ``core.storage.ModelCard``
(importing those modules would import torch into the GUI thread's start-up path).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .display_names import family_name
from .guard import gui_only
from .painted_text import ElidedLabel, PaintedText, ProbabilityBar
from .core_text import fraction as format_fraction, label_name, operating_metrics, percent as format_probability
from .style import DEMO_TEXT, OOD_ADVICE, OOD_HEADLINE, OOD_TEXT
from .i18n import translate


def _digits(p: float, threshold: float) -> int:
    """Fewest decimals (2..4) that keep p and the threshold visibly on their true sides."""
    for digits in (2, 3, 4):
        if round(p, digits) != round(threshold, digits):
            return digits
    return 4


def decision_parts(card, probabilities: dict[str, float], name=str) -> tuple[str, str, str] | None:
    """("P(pneumonia) = 0.71", "≥ 0.62", "pneumonia") for binary cards with an operating point, else None
    ("P(pneumonia) > 0.99" at the ends: ``reading_text.format_fraction``); ``name``: how a label is shown
    (the window passes ``core_text.label_name``, the self-test's console keeps English)."""
    pos, threshold, labels = card.positive_label, card.threshold, tuple(card.labels)
    if pos is None or threshold is None or len(labels) != 2 or pos not in probabilities:
        return None
    p = float(probabilities[pos])
    d = _digits(p, threshold)
    shown = f"P({name(pos)}) {format_fraction(p, d)}"
    if p >= threshold:
        return shown, f"≥ {threshold:.2f}", pos
    return shown, f"< {threshold:.2f}", labels[1 - labels.index(pos)]


def decision_text(card, probabilities: dict[str, float]) -> str | None:
    """"P(pneumonia) = 0.71 ≥ 0.62 → pneumonia", or None without an operating point."""
    parts = decision_parts(card, probabilities)
    return None if parts is None else f"{parts[0]} {parts[1]} → {parts[2]}"


def metrics_text(card) -> str:
    """"validation AUC 0.969 · accuracy 0.912" from the card's validation metrics."""
    metrics = {name: card.metric(key) for key, name in (("auc", "AUC"), ("accuracy", translate("ModelColumn", "accuracy")))}
    parts = [f"{name} {m.value:.3f}" for name, m in metrics.items() if m and isinstance(m.value, (int, float))]
    return translate("ModelColumn", "validation {0}").format(" · ".join(parts)) if parts else translate("ModelColumn", "no validation metrics")


def _wrapping_label(object_name: str) -> QLabel:
    label = QLabel("")
    label.setObjectName(object_name)
    label.setWordWrap(True)
    return label


class ModelColumn(QFrame):
    """One model: top label, a bar per class, the operating-point decision, version and device."""

    def __init__(self, card, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.setObjectName("modelColumn")
        self.setProperty("demo", bool(card.demo))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMinimumWidth(160)

        title = QLabel(family_name(card.config.arch))
        title.setObjectName("familyTitle")
        self.meta = ElidedLabel(f"{card.id} · v{card.version}")
        self.meta.setObjectName("modelMeta")
        self.meta.setToolTip(self.tr("{id}, version {version}").format(id=card.id, version=card.version) + f"\n{card.description or ''}\n{metrics_text(card)}\n"
                             f"sha256 {card.sha256[:16]}…".replace("\n\n", "\n"))
        self.demo_badge = _wrapping_label("demoBadge")
        self.demo_badge.setText(translate("Style", DEMO_TEXT))
        self.demo_badge.setVisible(bool(card.demo))
        self.demo_badge.setToolTip(self.tr("This model was not trained on clinical data; its output is meaningless."))
        self.headline = PaintedText(1, "headline")
        self.headline.setToolTip(self.tr("The model's decision (at its operating point when it has one)"))
        self.probability = PaintedText(2, "probability", wrap=True)
        self.probability.setToolTip(self.tr("Calibrated probability of the decision"))
        self.bars: dict[str, ProbabilityBar] = {}
        self.bar_values: dict[str, PaintedText] = {}
        bars = QGridLayout()
        bars.setHorizontalSpacing(6)
        bars.setVerticalSpacing(1)
        for i, label in enumerate(card.labels):
            name = ElidedLabel(label_name(label))
            name.setToolTip(label_name(label))
            value = PaintedText(1, align=Qt.AlignmentFlag.AlignRight)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100.0 %") + 6)
            value.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            bar = ProbabilityBar()
            bar.setToolTip(self.tr("Calibrated probability of '{label}'").format(label=label_name(label)))
            bars.addWidget(name, 2 * i, 0)
            bars.addWidget(value, 2 * i, 1)
            bars.addWidget(bar, 2 * i + 1, 0, 1, 2)
            self.bars[label], self.bar_values[label] = bar, value
        bars.setColumnStretch(0, 1)
        self.decision = PaintedText(4, "decision", wrap=True)
        self.decision.setToolTip(self.tr("Operating point chosen on validation data: the decision rule applied to "
                                 "the calibrated probability of the positive finding"))
        self.operating_metrics = PaintedText(3, "operatingMetrics", wrap=True)
        self.operating_metrics.setToolTip(self.tr("What to expect of this model at its operating point: validation "
                                          "sensitivity and specificity with their 95 % confidence intervals"))
        self.footer = PaintedText(3, "modelFooter", wrap=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.meta)
        layout.addWidget(self.demo_badge)
        layout.addSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.probability)
        layout.addLayout(bars)
        layout.addSpacing(2)
        layout.addWidget(self.decision)
        layout.addWidget(self.operating_metrics)
        layout.addWidget(self.footer)
        layout.addStretch(1)
        self.result = None
        self.unavailable: str | None = None  # why the model could not be loaded
        self.clear()

    @gui_only
    def clear(self, text: str = "–") -> None:
        self.result = None
        self.headline.set_full_text(text)
        self._mark_refused(False)
        self.probability.setText("")
        for label, bar in self.bars.items():
            bar.set_value(0.0)
            self.bar_values[label].setText("")
        self.decision.setText("")
        self.operating_metrics.setText(operating_metrics(self.card))
        self.footer.setText(metrics_text(self.card))

    def _mark_refused(self, refused: bool) -> None:
        if self.headline.property("ood") != refused:  # re-polishing only on a change
            self.headline.setProperty("ood", refused)
            self.headline.style().unpolish(self.headline)
            self.headline.style().polish(self.headline)
            self.headline.update()

    def set_pending(self) -> None:
        self.clear(self.tr("computing…"))

    @gui_only
    def set_result(self, result, device_label: str) -> None:
        self.result = result
        refused = result.refused
        self.headline.set_full_text(translate("Style", OOD_HEADLINE) if refused else label_name(result.label))
        self._mark_refused(refused)
        self.probability.setText(translate("Style", OOD_TEXT).format(score=result.ood_score) if refused
                                 else format_probability(result.probability))
        for label, bar in self.bars.items():
            p = float(result.probabilities.get(label, 0.0))
            bar.set_value(p)
            self.bar_values[label].setText(format_probability(p))
        parts = decision_parts(self.card, result.probabilities, label_name)
        if refused:
            self.decision.setText(translate("Style", OOD_ADVICE))
        elif parts:
            self.decision.setText(self.tr("Operating point:\n{parts}\n{parts2} → {parts3}").format(parts=parts[0], parts2=parts[1], parts3=label_name(parts[2])))
        else:
            self.decision.setText(self.tr("No operating point:\ntop class shown"))
        self.footer.setText(self.tr("{metrics_text}\nv{version} on {device_label}").format(metrics_text=metrics_text(self.card), version=self.card.version, device_label=device_label))

    @gui_only
    def set_error(self, message: str) -> None:
        self.clear("error")
        self.decision.setText(message)

    def set_unavailable(self, message: str) -> None:
        self.unavailable = message
        self.set_error(self.tr("Could not be loaded: {message}").format(message=message))
