"""The diagnostic tasks the shipped models cover (labels in class-id order, clinically positive label)
and the model families, torch-free."""
from __future__ import annotations

from dataclasses import dataclass

# The model families in display order: the names ``core.models.list_models()`` registers (a test
# checks they agree), for front ends that must not import torch to list them.
FAMILIES: tuple[str, ...] = ("cnn", "rnn", "transformer")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    title: str
    labels: tuple[str, ...]
    positive: str  # the finding a clinician must not miss: sensitivity is measured on it
    modality: str


TASKS: dict[str, TaskSpec] = {
    "pneumonia": TaskSpec(
        "pneumonia", "Paediatric chest X-ray: pneumonia", ("normal", "pneumonia"), "pneumonia", "chest X-ray"
    ),
    "breast": TaskSpec(
        "breast", "Breast ultrasound: malignancy", ("malignant", "normal-benign"), "malignant", "ultrasound"
    ),
}
