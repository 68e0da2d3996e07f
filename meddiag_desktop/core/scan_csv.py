"""The scan CSV layout shared by `meddiag scan` and the window's Export CSV (no heavy imports)."""
from __future__ import annotations

BASE_COLUMNS = ("path", "status", "error", "model", "label", "probability", "in_distribution", "ood_score")
OOD_TEXT = {True: "yes", False: "no", None: ""}  # "no": outside the training data, so no label is given


def csv_columns(cards) -> list[str]:
    """Base columns, then one ``p_<label>`` per class over all selected models, in first-seen order."""
    labels = list(dict.fromkeys(label for card in cards for label in card.labels))
    return [*BASE_COLUMNS, *(f"p_{label}" for label in labels)]


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def csv_row(result) -> dict:
    row = {"path": result.path, "status": result.status, "error": result.error or "", "model": result.model,
           "label": result.label or "", "probability": _fmt(result.probability),
           "in_distribution": OOD_TEXT[result.in_distribution],
           "ood_score": "" if result.ood_score is None else f"{result.ood_score:.3f}"}
    row.update({f"p_{k}": _fmt(v) for k, v in (result.probabilities or {}).items()})
    return row
