"""Predictions panel: the task's models side by side, heat-map controls and image facts.

Every update arrives from the main window's slots, i.e. in the GUI thread (``gui_only`` checks).
Results are duck-typed ``core.inference.Result`` records and cards ``core.storage.ModelCard``
(importing those modules would import torch into the GUI thread's start-up path).
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QSlider,
    QVBoxLayout, QWidget,
)

from .display_names import METHOD_NAMES, family_name
from .guard import gui_only
from .painted_text import PaintedText
from .style import DEMO_TEXT, OOD_HEADLINE, OOD_TEXT


def _digits(p: float, threshold: float) -> int:
    """Fewest decimals (2..4) that keep p and the threshold visibly on their true sides."""
    for digits in (2, 3, 4):
        if round(p, digits) != round(threshold, digits):
            return digits
    return 4


def decision_parts(card, probabilities: dict[str, float]) -> tuple[str, str, str] | None:
    """("P(pneumonia) = 0.71", "≥ 0.62", "pneumonia") for binary cards with an operating point, else None."""
    pos, threshold, labels = card.positive_label, card.threshold, tuple(card.labels)
    if pos is None or threshold is None or len(labels) != 2 or pos not in probabilities:
        return None
    p = float(probabilities[pos])
    d = _digits(p, threshold)
    if p >= threshold:
        return f"P({pos}) = {p:.{d}f}", f"≥ {threshold:.2f}", pos
    return f"P({pos}) = {p:.{d}f}", f"< {threshold:.2f}", labels[1 - labels.index(pos)]


def decision_text(card, probabilities: dict[str, float]) -> str | None:
    """"P(pneumonia) = 0.71 ≥ 0.62 → pneumonia", or None without an operating point."""
    parts = decision_parts(card, probabilities)
    return None if parts is None else f"{parts[0]} {parts[1]} → {parts[2]}"


def metrics_text(card) -> str:
    validation = (card.metrics or {}).get("validation", {})
    parts = [f"{name} {validation[key]['value']:.3f}" for key, name in (("auc", "AUC"), ("accuracy", "accuracy"))
             if isinstance(validation.get(key), dict) and isinstance(validation[key].get("value"), (int, float))]
    return ("validation " + " · ".join(parts)) if parts else "no validation metrics"


class ElidedLabel(QLabel):
    """One-line label that elides its text in the middle instead of widening the layout."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def sizeHint(self) -> QSize:  # independent of the text: a new text never relayouts the panel
        return QSize(40, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 40)
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


class ProbabilityBar(QWidget):
    """A thin bar for a probability in [0, 1]. Painted with update() - QProgressBar.setValue repaints
    synchronously, which flushes the whole window (image view included) on every value."""

    TRACK, FILL = QColor("#e3e7ec"), QColor("#4a79c4")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(80, 7)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        value = min(1.0, max(0.0, float(value)))
        if value != self._value:
            self._value = value
            self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        rect = QRectF(self.rect())
        radius = rect.height() / 2
        painter.setBrush(self.TRACK)
        painter.drawRoundedRect(rect, radius, radius)
        if self._value > 0:
            painter.setBrush(self.FILL)
            painter.drawRoundedRect(QRectF(rect.x(), rect.y(), max(rect.height(), rect.width() * self._value),
                                           rect.height()), radius, radius)
        painter.end()


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
        self.meta.setToolTip(f"{card.id}, version {card.version}\n{card.description or ''}\n{metrics_text(card)}\n"
                             f"sha256 {card.sha256[:16]}…".replace("\n\n", "\n"))
        self.demo_badge = _wrapping_label("demoBadge")
        self.demo_badge.setText(DEMO_TEXT)
        self.demo_badge.setVisible(bool(card.demo))
        self.demo_badge.setToolTip("This model was not trained on clinical data; its output is meaningless.")
        self.headline = PaintedText(1, "headline")
        self.headline.setToolTip("The model's decision (at its operating point when it has one)")
        self.probability = PaintedText(2, "probability", wrap=True)
        self.probability.setToolTip("Calibrated probability of the decision")
        self.bars: dict[str, ProbabilityBar] = {}
        self.bar_values: dict[str, PaintedText] = {}
        bars = QGridLayout()
        bars.setHorizontalSpacing(6)
        bars.setVerticalSpacing(1)
        for i, label in enumerate(card.labels):
            name = ElidedLabel(label)
            name.setToolTip(label)
            value = PaintedText(1, align=Qt.AlignmentFlag.AlignRight)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100.0 %") + 6)
            value.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            bar = ProbabilityBar()
            bar.setToolTip(f"Calibrated probability of '{label}'")
            bars.addWidget(name, 2 * i, 0)
            bars.addWidget(value, 2 * i, 1)
            bars.addWidget(bar, 2 * i + 1, 0, 1, 2)
            self.bars[label], self.bar_values[label] = bar, value
        bars.setColumnStretch(0, 1)
        self.decision = PaintedText(4, "decision", wrap=True)
        self.decision.setToolTip("Operating point chosen on validation data: the decision rule applied to "
                                 "the calibrated probability of the positive finding")
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
        self.footer.setText(metrics_text(self.card))

    def _mark_refused(self, refused: bool) -> None:
        if self.headline.property("ood") != refused:  # re-polishing only on a change
            self.headline.setProperty("ood", refused)
            self.headline.style().unpolish(self.headline)
            self.headline.style().polish(self.headline)
            self.headline.update()

    def set_pending(self) -> None:
        self.clear("computing…")

    @gui_only
    def set_result(self, result, device_label: str) -> None:
        self.result = result
        refused = getattr(result, "refused", False)
        self.headline.set_full_text(OOD_HEADLINE if refused else result.label)
        self._mark_refused(refused)
        self.probability.setText(OOD_TEXT.format(score=result.ood_score) if refused
                                 else f"{100 * result.probability:.1f} %")
        for label, bar in self.bars.items():
            p = float(result.probabilities.get(label, 0.0))
            bar.set_value(p)
            self.bar_values[label].setText(f"{100 * p:.1f} %")
        parts = decision_parts(self.card, result.probabilities)
        if refused:
            self.decision.setText("No decision: the image is unlike the training data; the probabilities "
                                  "above are not trustworthy.")
        elif parts:
            self.decision.setText(f"Operating point:\n{parts[0]}\n{parts[1]} → {parts[2]}")
        else:
            self.decision.setText("No operating point:\ntop class shown")
        self.footer.setText(f"{metrics_text(self.card)}\nv{self.card.version} on {device_label}")

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
        self._build_info_rows()

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
        """Rebuild the columns for a jobs.viewer.SessionInfo."""
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

    def _fill_methods(self, keep: bool = True) -> None:
        """Methods of the selected model; its default (fastest) one unless ``keep`` finds the previous."""
        previous = self.method_combo.currentData() if keep else None
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        for method in self._methods.get(self.model_combo.currentData(), ()):
            self.method_combo.addItem(METHOD_NAMES.get(method, method), method)
        index = self.method_combo.findData(previous)
        self.method_combo.setCurrentIndex(max(index, 0))
        self.method_combo.blockSignals(False)

    def _on_model_choice(self, _index: int) -> None:
        self._fill_methods(keep=False)
        self.explainChoiceChanged.emit()

    def _on_opacity(self, value: int, emit: bool = True) -> None:
        self.opacity_value.setText(f"{value} %")
        if emit:
            self.overlayOpacityChanged.emit(value / 100.0)

    # ------------------------------------------------------------------ image facts
    INFO_ROWS = ("Format", "Size", "Bit depth", "Photometric", "Modality", "Pixel spacing", "Frame", "Stored window")

    def _build_info_rows(self) -> None:
        self.info_values: dict[str, QLabel] = {}
        self.no_image = QLabel("No image")
        self.info_form.addRow(self.no_image)
        for name in self.INFO_ROWS:
            value = QLabel("")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_form.addRow(name, value)
            self.info_values[name] = value

    @gui_only
    def set_image_info(self, meta) -> None:
        """Technical facts of a core.io.ImageMeta (rows without a value are hidden); None: no image."""
        rows = {}
        if meta is not None:
            rows = {"Format": meta.format.upper() + (f" ({meta.transfer_syntax})" if meta.transfer_syntax else ""),
                    "Size": f"{meta.width} × {meta.height} px",
                    "Bit depth": f"{meta.bit_depth}-bit, {meta.channels} channel{'s' if meta.channels > 1 else ''}"}
            if meta.format == "dicom" and meta.photometric:
                rows["Photometric"] = meta.photometric
            if meta.modality:
                rows["Modality"] = meta.modality
            if meta.pixel_spacing:
                rows["Pixel spacing"] = f"{meta.pixel_spacing[0]:g} × {meta.pixel_spacing[1]:g} mm"
            if meta.n_frames > 1:
                rows["Frame"] = f"{meta.frame_index + 1} of {meta.n_frames}"
            if meta.window:
                rows["Stored window"] = f"W {meta.window[1]:g} · L {meta.window[0]:g}"
        self.info_form.setRowVisible(self.no_image, meta is None)
        for name, label in self.info_values.items():
            label.setText(rows.get(name, ""))
            self.info_form.setRowVisible(label, name in rows)
