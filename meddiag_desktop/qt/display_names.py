"""Names shown to people for model families and explanation methods, and the families' display order
(plain data, no Qt: the job modules use them too)."""
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
