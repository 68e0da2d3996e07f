"""Predictions panel: the task's models side by side, heat-map controls and image facts.

Every update arrives from the main window's slots, i.e. in the GUI thread (``gui_only`` checks).
Results are duck-typed ``core.inference.Result`` records and cards ``core.storage.ModelCard``
(importing those modules would import torch into the GUI thread's start-up path).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
    QSizePolicy, QSlider, QVBoxLayout, QWidget,
)

from .engine import METHOD_NAMES, family_name
from .style import DEMO_TEXT
from .workers import gui_only


def _digits(p: float, threshold: float) -> int:
    """Fewest decimals (2..4) that keep p and the threshold visibly on their true sides."""
    for digits in (2, 3, 4):
        if round(p, digits) != round(threshold, digits):
            return digits
    return 4


def decision_text(card, probabilities: dict[str, float]) -> str | None:
    """"P(pneumonia) = 0.71 ≥ 0.62 → pneumonia" for binary cards with an operating point, else None."""
    pos, threshold, labels = card.positive_label, card.threshold, tuple(card.labels)
    if pos is None or threshold is None or len(labels) != 2 or pos not in probabilities:
        return None
    p, negative = float(probabilities[pos]), labels[1 - labels.index(pos)]
    d = _digits(p, threshold)
    if p >= threshold:
        return f"P({pos}) = {p:.{d}f} ≥ {threshold:.2f} → {pos}"
    return f"P({pos}) = {p:.{d}f} < {threshold:.2f} → {negative}"


def metrics_text(card) -> str:
    validation = (card.metrics or {}).get("validation", {})
    parts = [f"{name} {validation[key]['value']:.3f}" for key, name in (("auc", "AUC"), ("accuracy", "accuracy"))
             if isinstance(validation.get(key), dict) and isinstance(validation[key].get("value"), (int, float))]
    return ("validation " + " · ".join(parts)) if parts else "no validation metrics"


class ModelColumn(QFrame):
    """One model: top label, a bar per class, the operating-point decision, version and device."""

    def __init__(self, card, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.setObjectName("modelColumn")
        self.setProperty("demo", bool(card.demo))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setMinimumWidth(170)

        title = QLabel(family_name(card.config.arch))
        title.setObjectName("familyTitle")
        meta = QLabel(f"{card.id} · v{card.version}")
        meta.setObjectName("modelMeta")
        meta.setToolTip(f"{card.description or card.id}\n{metrics_text(card)}\nsha256 {card.sha256[:16]}…")
        self.demo_badge = QLabel(DEMO_TEXT)
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setWordWrap(True)
        self.demo_badge.setVisible(bool(card.demo))
        self.demo_badge.setToolTip("This model was not trained on clinical data; its output is meaningless.")
        self.headline = QLabel("–")
        self.headline.setObjectName("headline")
        self.headline.setToolTip("The model's decision (at its operating point when it has one) and its "
                                 "calibrated probability")
        self.bars: dict[str, QProgressBar] = {}
        bars = QGridLayout()
        bars.setHorizontalSpacing(6)
        bars.setVerticalSpacing(3)
        for row, label in enumerate(card.labels):
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setFormat("")
            bar.setToolTip(f"Calibrated probability of '{label}'")
            name = QLabel(label)
            name.setToolTip(label)
            bars.addWidget(name, row, 0)
            bars.addWidget(bar, row, 1)
            self.bars[label] = bar
        bars.setColumnStretch(1, 1)
        self.decision = QLabel("")
        self.decision.setObjectName("decision")
        self.decision.setWordWrap(True)
        self.decision.setToolTip("Operating point chosen on validation data: the decision rule applied to "
                                 "the calibrated probability of the positive finding")
        self.footer = QLabel(metrics_text(card))
        self.footer.setObjectName("modelFooter")
        self.footer.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(5)
        layout.addWidget(title)
        layout.addWidget(meta)
        layout.addWidget(self.demo_badge)
        layout.addWidget(self.headline)
        layout.addLayout(bars)
        layout.addWidget(self.decision)
        layout.addWidget(self.footer)
        self.result = None
        self.unavailable: str | None = None  # why the model could not be loaded
        self.clear()

    @gui_only
    def clear(self, text: str = "–") -> None:
        self.result = None
        self.headline.setText(text)
        for bar in self.bars.values():
            bar.setValue(0)
            bar.setFormat("")
        self.decision.setText("")

    def set_pending(self) -> None:
        self.clear("computing…")

    @gui_only
    def set_result(self, result, device_label: str) -> None:
        self.result = result
        self.headline.setText(f"{result.label}  {100 * result.probability:.1f} %")
        for label, bar in self.bars.items():
            p = float(result.probabilities.get(label, 0.0))
            bar.setValue(round(1000 * p))
            bar.setFormat(f"{100 * p:.1f} %")
        rule = decision_text(self.card, result.probabilities)
        self.decision.setText(f"Operating point: {rule}" if rule else "No operating point: top class shown")
        self.footer.setText(f"{metrics_text(self.card)}\non {device_label}")

    @gui_only
    def set_error(self, message: str) -> None:
        self.clear("error")
        self.decision.setText(message)

    def set_unavailable(self, message: str) -> None:
        self.unavailable = message
        self.set_error(f"Could not be loaded: {message}")


class PredictionsPanel(QWidget):
    overlayToggled = Signal(bool)
    overlayOpacityChanged = Signal(float)  # 0..1
    explainChoiceChanged = Signal()  # heat-map model or method changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Predictions")
        self.title.setObjectName("panelTitle")
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("modelMeta")
        self.status = QLabel("")
        self.status.setObjectName("panelStatus")
        self.status.setWordWrap(True)
        self.columns_box = QHBoxLayout()
        self.columns_box.setSpacing(8)
        self.columns: dict[str, ModelColumn] = {}
        self._methods: dict[str, tuple[str, ...]] = {}
        self._device_label = ""

        # heat-map controls
        self.overlay_check = QCheckBox("Show heat-map")
        self.overlay_check.setToolTip("Overlay where the image drove the selected model's prediction (H)")
        self.overlay_check.toggled.connect(self.overlayToggled)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Model whose prediction is explained")
        self.method_combo = QComboBox()
        self.method_combo.setToolTip("Grad-CAM (CNN), attention rollout (Transformer) or occlusion (any model; "
                                     "slower)")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Heat-map opacity")
        self.opacity_value = QLabel("45 %")
        self.opacity_value.setMinimumWidth(40)
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.model_combo.currentIndexChanged.connect(self._on_model_choice)
        self.method_combo.currentIndexChanged.connect(lambda _: self.explainChoiceChanged.emit())
        self.explain_caption = QLabel("")
        self.explain_caption.setObjectName("explainCaption")
        self.explain_caption.setWordWrap(True)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity_slider, 1)
        opacity_row.addWidget(self.opacity_value)
        explain_form = QFormLayout()
        explain_form.addRow(self.overlay_check)
        explain_form.addRow("Model", self.model_combo)
        explain_form.addRow("Method", self.method_combo)
        explain_form.addRow("Opacity", opacity_row)
        explain_form.addRow(self.explain_caption)
        self.explain_group = QGroupBox("Heat-map")
        self.explain_group.setLayout(explain_form)

        # image facts (never patient data: core.io does not even read those tags)
        self.info_form = QFormLayout()
        self.info_group = QGroupBox("Image")
        self.info_group.setLayout(self.info_form)
        self.info_group.setToolTip("Technical facts only; patient and study identifiers are never read")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.status)
        layout.addLayout(self.columns_box)
        layout.addWidget(self.explain_group)
        layout.addWidget(self.info_group)
        layout.addStretch(1)
        self.set_models_enabled(False)
        self.set_image_info(None)

    # ------------------------------------------------------------------ models
    @gui_only
    def show_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def set_models_enabled(self, enabled: bool) -> None:
        for widget in (self.model_combo, self.method_combo):
            widget.setEnabled(enabled)

    @gui_only
    def set_models(self, info) -> None:
        """Rebuild the columns for an engine.SessionInfo."""
        for column in self.columns.values():
            self.columns_box.removeWidget(column)
            column.deleteLater()
        self.columns = {}
        self._methods = dict(info.methods)
        self._device_label = info.device_label
        from meddiag_desktop.core.tasks import TASKS  # plain data, no torch

        spec = TASKS.get(info.task)
        self.subtitle.setText(spec.title if spec else (info.task or ""))
        for card in info.cards:
            column = ModelColumn(card)
            if card.id in info.errors:
                column.set_unavailable(info.errors[card.id])
            self.columns[card.id] = column
            self.columns_box.addWidget(column)
        previous = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for card in info.cards:
            if card.id not in info.errors:
                self.model_combo.addItem(f"{family_name(card.config.arch)} ({card.id})", card.id)
        index = self.model_combo.findData(previous)
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self._fill_methods()
        self.set_models_enabled(self.model_combo.count() > 0)

    @gui_only
    def clear_results(self, pending: bool) -> None:
        for column in self.columns.values():
            if column.unavailable:
                continue
            if pending:
                column.set_pending()
            else:
                column.clear()

    def show_prediction(self, card_id: str, result) -> None:
        if card_id in self.columns:
            self.columns[card_id].set_result(result, self._device_label)

    def show_failure(self, card_id: str, message: str) -> None:
        if card_id in self.columns:
            self.columns[card_id].set_error(message)

    # ------------------------------------------------------------------ heat-map
    def explain_choice(self) -> tuple[str, str] | None:
        card_id, method = self.model_combo.currentData(), self.method_combo.currentData()
        return (card_id, method) if card_id and method else None

    def select_explained_model(self, card_id: str) -> None:
        index = self.model_combo.findData(card_id)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def set_overlay_checked(self, checked: bool) -> None:
        self.overlay_check.setChecked(checked)

    def set_opacity(self, opacity: float) -> None:
        self.opacity_slider.setValue(round(100 * opacity))
        self._on_opacity(self.opacity_slider.value(), emit=False)

    @gui_only
    def set_explain_caption(self, text: str) -> None:
        self.explain_caption.setText(text)

    def _fill_methods(self) -> None:
        previous = self.method_combo.currentData()
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for method in self._methods.get(self.model_combo.currentData(), ()):
            self.method_combo.addItem(METHOD_NAMES.get(method, method), method)
        index = self.method_combo.findData(previous)
        self.method_combo.setCurrentIndex(max(index, 0))
        self.method_combo.blockSignals(False)

    def _on_model_choice(self, _index: int) -> None:
        self._fill_methods()
        self.explainChoiceChanged.emit()

    def _on_opacity(self, value: int, emit: bool = True) -> None:
        self.opacity_value.setText(f"{value} %")
        if emit:
            self.overlayOpacityChanged.emit(value / 100.0)

    # ------------------------------------------------------------------ image facts
    @gui_only
    def set_image_info(self, meta) -> None:
        while self.info_form.rowCount():
            self.info_form.removeRow(0)
        if meta is None:
            self.info_form.addRow(QLabel("No image"))
            return
        rows = [("Format", meta.format.upper() + (f" ({meta.transfer_syntax})" if meta.transfer_syntax else "")),
                ("Size", f"{meta.width} × {meta.height} px"),
                ("Bit depth", f"{meta.bit_depth}-bit, {meta.channels} channel{'s' if meta.channels > 1 else ''}")]
        if meta.photometric:
            rows.append(("Photometric", meta.photometric))
        if meta.modality:
            rows.append(("Modality", meta.modality))
        if meta.pixel_spacing:
            rows.append(("Pixel spacing", f"{meta.pixel_spacing[0]:g} × {meta.pixel_spacing[1]:g} mm"))
        if meta.n_frames > 1:
            rows.append(("Frame", f"{meta.frame_index + 1} of {meta.n_frames}"))
        if meta.window:
            rows.append(("Stored window", f"W {meta.window[1]:g} · L {meta.window[0]:g}"))
        for name, value in rows:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_form.addRow(name, label)
