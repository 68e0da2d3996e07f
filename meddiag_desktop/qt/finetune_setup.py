"""The fine-tune dialog's set-up page: the training data, the base model (or a family to train from
scratch) and the training options. It shows the data summary the dialog's job found and says when a
run may start; the dialog runs the jobs.

An ImageFolder folder (``train/`` + ``val/`` sub-folders or a ``val/`` folder next to the class
folders are used as they are) or a CSV ``path,label``; epochs, learning rate, batch size, validation
fraction (stratified), augmentation, device. Classes that do not map onto the base model's labels
need the explicit "new label set" confirmation (the classifier head is re-initialised).
"""
from __future__ import annotations

import datetime as dt
import os

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ..core.device import DEVICE_CHOICES, canonical_device
from ..core.training_events import FineTuneSpec
from .core_text import device_name
from .display_names import FAMILY_ORDER, family_name
from .jobs.finetune import Inspection, ModelChoice
from .style import colours
from .i18n import translate

SOURCES = {"user": QT_TRANSLATE_NOOP("FinetuneSetup", "yours"), "shipped": QT_TRANSLATE_NOOP("FinetuneSetup", "shipped")}

def suggested_name(base_id: str | None, task: str, family: str, now: dt.datetime | None = None) -> str:
    """What an empty name becomes (core.versions.new_version_id without the clash suffix)."""
    stem = base_id.split("@", 1)[0] if base_id else f"{task}-{family}"
    return f"{stem}@{(now or dt.datetime.now()).strftime('%Y-%m-%dT%H-%M-%S')}"


def model_choice_text(m: ModelChoice) -> str:
    tags = [family_name(m.family), m.task, translate("FinetuneSetup", SOURCES.get(m.source, m.source))] + ([translate("FinetuneSetup", "active")] if m.active else []) + ([translate("FinetuneSetup", "DEMO")] if m.demo else [])
    return f"{m.id}  ({', '.join(tags)})"


class SetupPage(QWidget):
    inspectRequested = Signal()  # the data, the validation fraction or the base model changed
    startRequested = Signal()  # "Start training"
    epochsChanged = Signal(int)

    def __init__(self, device: str = "auto", parent: QWidget | None = None) -> None:
        """``device``: the preselected device (auto | cpu | cuda; gpu is read as cuda)."""
        super().__init__(parent)
        self.models: list[ModelChoice] = []
        self.new_label_set = False  # the shown data's classes are not the base model's labels
        self.may_start = False  # the dialog's part: data read and no run going
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_data_box())
        layout.addWidget(self._build_model_box())
        layout.addWidget(self._build_training_box())
        row = QHBoxLayout()
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        row.addWidget(self.status_label, 1)
        self.start_button = QPushButton(self.tr("Start training"))
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.startRequested)
        self.start_button.setEnabled(False)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        layout.addStretch(1)
        self.set_device(device)

    def _build_data_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Training data"))
        grid = QGridLayout(box)
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText(self.tr("An image folder (one sub-folder per class) or a CSV file with path,label"))
        self.data_edit.editingFinished.connect(self.inspectRequested)
        folder_button = QPushButton(self.tr("Folder…"))
        folder_button.clicked.connect(self.choose_folder)
        csv_button = QPushButton(self.tr("CSV file…"))
        csv_button.clicked.connect(self.choose_csv)
        grid.addWidget(QLabel(self.tr("Data:")), 0, 0)
        grid.addWidget(self.data_edit, 0, 1)
        grid.addWidget(folder_button, 0, 2)
        grid.addWidget(csv_button, 0, 3)
        self.val_data_edit = QLineEdit()  # optional: separate validation data instead of the fraction below
        self.val_data_edit.setPlaceholderText(self.tr("Optional: separate validation data (folder or CSV path,label)"))
        self.val_data_edit.editingFinished.connect(self.inspectRequested)
        grid.addWidget(QLabel(self.tr("Validation:")), 1, 0)
        grid.addWidget(self.val_data_edit, 1, 1, 1, 3)
        self.summary_label = QLabel(self.tr("Choose a data set to see its classes."))
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        grid.addWidget(self.summary_label, 2, 0, 1, 4)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setObjectName("warning")  # style.py
        self.warnings_label.setVisible(False)
        grid.addWidget(self.warnings_label, 3, 0, 1, 4)
        self.new_labels_check = QCheckBox(self.tr("Use the data's own label set (the classifier head is re-initialised)"))
        self.new_labels_check.setVisible(False)
        self.new_labels_check.toggled.connect(self.update_start)
        grid.addWidget(self.new_labels_check, 4, 0, 1, 4)
        return box

    def _build_model_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Model"))
        form = QFormLayout(box)
        self.base_combo = QComboBox()
        self.base_combo.setToolTip(self.tr("The model to start from (shipped or one of your versions), or none"))
        self.base_combo.currentIndexChanged.connect(self._base_changed)
        form.addRow(self.tr("Base model:"), self.base_combo)
        self.family_combo = QComboBox()
        for family in FAMILY_ORDER:
            self.family_combo.addItem(family_name(family), family)
        form.addRow(self.tr("Family (from scratch):"), self.family_combo)
        self.task_edit = QComboBox()
        self.task_edit.setEditable(True)
        self.task_edit.addItems(["pneumonia", "breast", "custom"])
        form.addRow(self.tr("Task (from scratch):"), self.task_edit)
        return box

    def _build_training_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Training"))
        form = QFormLayout(box)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 500)
        self.epochs_spin.setValue(10)
        self.epochs_spin.valueChanged.connect(self.epochsChanged)
        form.addRow(self.tr("Epochs:"), self.epochs_spin)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(1e-5, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.lr_spin.setValue(1e-3)
        form.addRow(self.tr("Learning rate:"), self.lr_spin)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1024)
        self.batch_spin.setValue(32)
        form.addRow(self.tr("Batch size:"), self.batch_spin)
        self.val_spin = QDoubleSpinBox()
        self.val_spin.setRange(0.05, 0.5)
        self.val_spin.setSingleStep(0.05)
        self.val_spin.setValue(0.2)
        self.val_spin.setToolTip(self.tr("Stratified validation fraction (not used when the folder has a val/ sub-folder)"))
        self.val_spin.editingFinished.connect(self.inspectRequested)
        form.addRow(self.tr("Validation fraction:"), self.val_spin)
        self.augment_check = QCheckBox(self.tr("Augment (small rotations, shifts, contrast changes)"))
        self.augment_check.setChecked(True)
        self.augment_check.setToolTip(self.tr("A base model keeps its own augmentation and training settings, "
                                              "per member for an ensemble (e.g. left-right flips)"))
        form.addRow("", self.augment_check)
        self.device_combo = QComboBox()
        for key in DEVICE_CHOICES:
            self.device_combo.addItem(device_name(key), key)
        form.addRow(self.tr("Device:"), self.device_combo)
        return box

    # ------------------------------------------------------------------ models
    def set_models(self, models: list[ModelChoice]) -> None:
        """Fill the base-model list, keeping the chosen one (else the active pneumonia CNN, else any
        active model, else "from scratch")."""
        previous = self.base_id()
        self.models = list(models)
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        for m in self.models:
            self.base_combo.addItem(model_choice_text(m), m.id)
        self.base_combo.addItem(self.tr("None — train from scratch"), None)
        index = self.base_combo.findData(previous) if previous else -1
        if index < 0:
            preferred = [i for i, m in enumerate(self.models) if m.active and m.family == "cnn" and m.task == "pneumonia"]
            active = [i for i, m in enumerate(self.models) if m.active]
            index = (preferred or active or [self.base_combo.count() - 1])[0]
        self.base_combo.setCurrentIndex(index)
        self.base_combo.blockSignals(False)
        self._base_changed()

    def base_id(self) -> str | None:
        return self.base_combo.currentData() if self.base_combo.count() else None

    def base_choice(self) -> ModelChoice | None:
        return next((m for m in self.models if m.id == self.base_id()), None)

    def set_base(self, model_id: str | None) -> None:
        self.base_combo.setCurrentIndex(self.base_combo.findData(model_id))

    def set_device(self, device: str) -> None:
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(canonical_device(device))))

    def _base_changed(self, *_) -> None:
        scratch = self.base_id() is None
        self.family_combo.setEnabled(scratch)
        self.task_edit.setEnabled(scratch)
        self.inspectRequested.emit()

    # ------------------------------------------------------------------ data
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Training images (one sub-folder per class)"))
        if folder:
            self.set_data_path(folder)

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("CSV with path,label"), "", self.tr("CSV files (*.csv);;All files (*)"))
        if path:
            self.set_data_path(path)

    def set_data_path(self, path: str | os.PathLike) -> None:
        self.data_edit.setText(os.fspath(path))
        self.inspectRequested.emit()

    def data_path(self) -> str:
        return self.data_edit.text().strip()

    def set_val_data_path(self, path: str | os.PathLike) -> None:
        self.val_data_edit.setText(os.fspath(path))
        self.inspectRequested.emit()

    def val_data_path(self) -> str | None:
        return self.val_data_edit.text().strip() or None

    def show_reading(self) -> None:
        self.summary_label.setText(self.tr("Reading the data set…"))

    def show_inspection(self, inspection: Inspection) -> None:
        """Class counts per split, the data set's warnings and, for foreign classes, the confirmation box."""
        s = inspection.summary
        head = "".join(f"<th style='padding:0 10px'>{name}</th>" for name in s.labels)

        def row(title, counts) -> str:
            return f"<tr><td>{title}</td>" + "".join(
                f"<td align='center'>{counts.get(n, 0)}</td>" for n in s.labels) + "</tr>"

        self.summary_label.setText(
            self.tr("<b>{sum}</b> training and <b>{sum2}</b> validation images ({val_source}).<table><tr><td></td>{head}</tr>{row}{row2}</table>").format(sum=sum(s.train_counts.values()), sum2=sum(s.val_counts.values()), val_source=s.val_source, head=head, row=row('train', s.train_counts), row2=row('validation', s.val_counts))
            + (self.tr("Small set: <b>{folds}-fold cross-validation</b> over training + validation (every image "
                       "scored by a model that did not train on it, near-duplicate images kept in one fold: these "
                       "figures choose the threshold), then the "
                       "model you save is trained on all of them.").format(folds=s.folds) if s.folds else ""))
        warnings = list(s.warnings)
        self.new_label_set = s.relation == "new"
        if self.new_label_set:
            warnings.insert(0, self.tr("The data's classes ({join}) are not the base model's labels ({join2}). Tick the box below to train a new label set.").format(join=', '.join(s.labels), join2=', '.join(s.base_labels)))
        self.new_labels_check.setVisible(self.new_label_set)
        if not self.new_label_set:
            self.new_labels_check.setChecked(False)
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warnings_label.setVisible(bool(warnings))

    def show_inspect_error(self, message: str) -> None:
        self.summary_label.setText(self.tr("<span style='color:{error}'>Cannot use this data: {message}</span>").format(error=colours().error, message=message))
        self.warnings_label.setVisible(False)

    # ------------------------------------------------------------------ starting
    def set_may_start(self, may_start: bool) -> None:
        """Whether the dialog could start a run now (data read, no run going)."""
        self.may_start = may_start
        self.update_start()

    def update_start(self, *_) -> None:
        confirmed = not self.new_label_set or self.new_labels_check.isChecked()
        self.start_button.setEnabled(self.may_start and confirmed)

    def spec(self, arch_kwargs: dict, n_boot: int) -> FineTuneSpec:
        """The page's choices as a run's spec (``core.training_events`` is torch-free)."""
        base = self.base_choice()
        task = base.task if base else (self.task_edit.currentText().strip() or "custom")
        family = base.family if base else self.family_combo.currentData()
        return FineTuneSpec(
            data=self.data_path(), base_id=base.id if base else None, family=family, task=task,
            new_labels=self.new_labels_check.isChecked(), epochs=self.epochs_spin.value(), lr=self.lr_spin.value(),
            batch_size=self.batch_spin.value(), val_fraction=self.val_spin.value(), val_data=self.val_data_path(), augment=self.augment_check.isChecked(),
            device=self.device_combo.currentData(), arch_kwargs=dict(arch_kwargs),
            model_id=suggested_name(base.id if base else None, task, family).replace(":", "-"),
            command="MedDiag Desktop fine-tune dialog", n_boot=n_boot)
