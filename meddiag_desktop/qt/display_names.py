"""Names shown to people for model families, explanation methods, metrics and devices, and the
families' display order (plain data, no Qt: the job modules use them too)."""
from __future__ import annotations

FAMILY_ORDER = ("cnn", "rnn", "transformer")
FAMILY_NAMES = {"cnn": "CNN", "rnn": "RNN", "transformer": "Transformer"}
METHOD_NAMES = {"gradcam": "Grad-CAM", "attention": "Attention rollout", "occlusion": "Occlusion"}


def family_name(arch: str) -> str:
    return FAMILY_NAMES.get(arch, arch.upper())


def method_name(method: str) -> str:
    return METHOD_NAMES.get(method, method)


def card_sort_key(card) -> tuple:
    """CNN, RNN, Transformer first (then other families), each by model id."""
    arch = card.config.arch
    return (FAMILY_ORDER.index(arch) if arch in FAMILY_ORDER else len(FAMILY_ORDER), card.id)


METRIC_NAMES = {"accuracy": "Accuracy", "sensitivity": "Sensitivity", "specificity": "Specificity", "f1": "F1",
                "auc": "AUC", "macro_f1": "Macro F1", "macro_auc": "Macro AUC"}
DEVICE_NAMES = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "GPU (CUDA)"}  # core.device vocabulary


def metric_name(key: str) -> str:
    return METRIC_NAMES.get(key, key)
