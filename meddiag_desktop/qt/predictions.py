"""Predictions panel: the task's models side by side (one ``model_column.ModelColumn`` each),
heat-map controls and image facts.

Every update arrives from the main window's slots, i.e. in the GUI thread (``gui_only`` checks).
"""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget,
)

from .i18n import translate
from .core_text import family_name, method_name, task_title
from .guard import gui_only
from .model_column import ModelColumn


class PredictionsPanel(QWidget):
    overlayToggled = Signal(bool)
    overlayOpacityChanged = Signal(float)  # 0..1
    explainChoiceChanged = Signal()  # heat-map model or method changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self.tr("Predictions"))
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
        self.overlay_check = QCheckBox(self.tr("Show heat-map"))
        self.overlay_check.setToolTip(self.tr("Overlay where the image drove the selected model's prediction (H)"))
        self.overlay_check.toggled.connect(self.overlayToggled)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip(self.tr("Model whose prediction is explained"))
        self.method_combo = QComboBox()
        self.method_combo.setToolTip(self.tr("Grad-CAM (CNN), attention rollout (Transformer) or occlusion (any model; "
                                     "slower)"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip(self.tr("Heat-map opacity"))
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
        explain_form.addRow(self.tr("Model"), self.model_combo)
        explain_form.addRow(self.tr("Method"), self.method_combo)
        explain_form.addRow(self.tr("Opacity"), opacity_row)
        explain_form.addRow(self.explain_caption)
        self.explain_group = QGroupBox(self.tr("Heat-map"))
        self.explain_group.setLayout(explain_form)

        # image facts (never patient data: core.io does not even read those tags)
        self.info_form = QFormLayout()
        self.info_group = QGroupBox(self.tr("Image"))
        self.info_group.setLayout(self.info_form)
        self.info_group.setToolTip(self.tr("Technical facts only; patient and study identifiers are never read"))
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
        self.subtitle.setText(task_title(info.task) if spec else (info.task or ""))
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
            self.method_combo.addItem(method_name(method), method)
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
    INFO_ROWS = (QT_TRANSLATE_NOOP("Predictions", "Format"), QT_TRANSLATE_NOOP("Predictions", "Size"), QT_TRANSLATE_NOOP("Predictions", "Bit depth"), QT_TRANSLATE_NOOP("Predictions", "Photometric"), QT_TRANSLATE_NOOP("Predictions", "Modality"), QT_TRANSLATE_NOOP("Predictions", "Pixel spacing"), QT_TRANSLATE_NOOP("Predictions", "Frame"), QT_TRANSLATE_NOOP("Predictions", "Stored window"))

    def _build_info_rows(self) -> None:
        self.info_values: dict[str, QLabel] = {}
        self.no_image = QLabel(self.tr("No image"))
        self.info_form.addRow(self.no_image)
        for name in self.INFO_ROWS:
            value = QLabel("")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.info_form.addRow(translate("Predictions", name), value)
            self.info_values[name] = value

    @gui_only
    def set_image_info(self, meta) -> None:
        """Technical facts of a core.io.ImageMeta (rows without a value are hidden); None: no image."""
        rows = {}
        if meta is not None:
            rows = {"Format": meta.format.upper() + (f" ({meta.transfer_syntax})" if meta.transfer_syntax else ""),
                    "Size": f"{meta.width} × {meta.height} px",
                    "Bit depth": (self.tr("{bits}-bit, {channels} channels") if meta.channels > 1 else self.tr(
                        "{bits}-bit, {channels} channel")).format(bits=meta.bit_depth, channels=meta.channels)}
            if meta.format == "dicom" and meta.photometric:
                rows["Photometric"] = meta.photometric
            if meta.modality:
                rows["Modality"] = meta.modality
            if meta.pixel_spacing:
                rows["Pixel spacing"] = self.tr("{pixel_spacing:g} × {pixel_spacing2:g} mm").format(pixel_spacing=meta.pixel_spacing[0], pixel_spacing2=meta.pixel_spacing[1])
            if meta.n_frames > 1:
                rows["Frame"] = self.tr("{value} of {n_frames}").format(value=meta.frame_index + 1, n_frames=meta.n_frames)
            if meta.window:
                rows["Stored window"] = f"W {meta.window[1]:g} · L {meta.window[0]:g}"
        self.info_form.setRowVisible(self.no_image, meta is None)
        for name, label in self.info_values.items():
            label.setText(rows.get(name, ""))
            self.info_form.setRowVisible(label, name in rows)
