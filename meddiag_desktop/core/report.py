"""Case report content (Qt-free): what ``qt.report`` prints for one image and its predictions.

Privacy: the report identifies its input only by the file's sha256 and non-identifying image
facts (format, size, modality). It never holds the patient's name or ID (``core.io`` never reads
them), the file's path, or its name (a name like ``SMITH_JOHN.dcm`` would leak; the window title
shows it on screen, but a report is made to be passed on).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
from dataclasses import dataclass

from .. import __version__

NOTICE = ("Decision support only — not for diagnostic use. The models are research prototypes trained on "
          "low-resolution benchmark data and are not clinically validated; every finding must be confirmed "
          "by a qualified clinician.")
OOD_TEXT = {True: "Within training distribution", False: "OUTSIDE what this model was trained on",
            None: "not assessed"}


@dataclass(frozen=True)
class ModelLine:
    """One model's row: identity, its probabilities and the decision at its operating point."""

    model_id: str
    family: str  # arch: cnn | rnn | transformer
    version: str
    sha256: str
    demo: bool
    status: str  # "ok" | "error" | "missing"
    probabilities: tuple[tuple[str, float], ...] = ()
    label: str | None = None
    decision: str = ""  # "pneumonia (P(pneumonia) = 0.71 ≥ operating point 0.62)"
    ood: str = OOD_TEXT[None]
    error: str | None = None


@dataclass(frozen=True)
class CaseReport:
    created: str  # local date and time, ISO 8601 to the minute
    app_version: str
    input_sha256: str
    image: str  # "DICOM, 512 × 512, 16-bit, modality CR"
    task: str | None
    models: tuple[ModelLine, ...]
    heatmap: str | None = None  # caption of the heat-map shown, None when none is included
    notice: str = NOTICE


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def image_text(meta) -> str:
    """Non-identifying facts from ``core.io.ImageMeta``."""
    parts = [meta.format.upper(), f"{meta.width} × {meta.height} px", f"{meta.bit_depth}-bit"]
    if meta.channels > 1:
        parts.append(f"{meta.channels} channels")
    if meta.modality:
        parts.append(f"modality {meta.modality}")
    if meta.n_frames > 1:
        parts.append(f"frame {meta.frame_index + 1} of {meta.n_frames}")
    return ", ".join(parts)


def decision_text(card, result) -> str:
    """The decision at the card's operating point, with the probability and threshold behind it."""
    probs = result.probabilities or {}
    pos, threshold = card.positive_label, card.threshold
    if getattr(result, "refused", False):
        return "no decision: the image is outside what this model was trained on"
    if pos is not None and threshold is not None and pos in probs:
        side = "≥" if probs[pos] >= threshold else "<"
        return f"{result.label} (P({pos}) = {probs[pos]:.3f} {side} operating point {threshold:.3f})"
    return f"{result.label} (top class, p = {result.probability:.3f}; no operating point)"


def model_line(card, result) -> ModelLine:
    """``result``: a ``core.inference.Result``, an error text, or None (not predicted)."""
    base = dict(model_id=card.id, family=card.config.arch, version=str(card.version), sha256=card.sha256,
                demo=bool(card.demo))
    if result is None:
        return ModelLine(**base, status="missing", error="not predicted")
    if isinstance(result, str) or result.status != "ok":
        return ModelLine(**base, status="error", error=result if isinstance(result, str) else result.error)
    ood = getattr(result, "in_distribution", None)  # None: no OOD detector for this model
    return ModelLine(**base, status="ok", probabilities=tuple((k, float(v)) for k, v in result.probabilities.items()),
                     label=result.label, decision=decision_text(card, result), ood=OOD_TEXT[ood])


def build_report(path: str | os.PathLike, meta, cards, results: dict, task: str | None = None,
                 heatmap: str | None = None, now: _dt.datetime | None = None) -> CaseReport:
    """The report of the image at ``path`` (read only to hash it). ``results``: card id -> Result,
    error text or missing; ``meta``: its ``core.io.ImageMeta``; ``heatmap``: a caption or None."""
    now = now or _dt.datetime.now().astimezone()
    return CaseReport(created=now.strftime("%Y-%m-%d %H:%M %Z").strip(), app_version=__version__,
                      input_sha256=sha256_of(path), image=image_text(meta), task=task,
                      models=tuple(model_line(card, results.get(card.id)) for card in cards), heatmap=heatmap)
