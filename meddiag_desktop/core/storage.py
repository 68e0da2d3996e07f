"""Models on disk: ``ID.safetensors`` + ``ID.json`` model card. No pickle anywhere.

The card records the sha256 of the weights file and its name (``weights_file``); loading verifies
the sha and refuses a mismatch. Saving survives a kill at any point: every file is written
atomically (temporary file + fsync + rename), and the card - written last - is the commit point.
Overwriting a model never touches the weights its current card names: the new weights go to a
staged name ``ID+<sha256[:12]>.safetensors``, the card is switched to them, and only then do they
get the plain name back (hard link + card again) and the old files go. A killed save leaves the
old pair or the new one, plus at worst an unreferenced file that the next save of that ID removes.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from .. import __version__
from .atomic import atomic_write_bytes, atomic_write_json
from .metric_ci import MetricCI
from .models import ModelConfig, create_model_from_config

CARD_SCHEMA = 1
VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")  # '@': version IDs, e.g. pneumonia-cnn@2026-11-27T15-04-05


class ModelStorageError(Exception):
    """Base class for model storage problems; ``str(err)`` is a readable message."""


class ModelNotFoundError(ModelStorageError):
    pass


class ModelIntegrityError(ModelStorageError):
    pass


class VersionError(ModelStorageError):
    """A version operation that cannot be done (shipped model, nothing to roll back to...)."""


@dataclass(frozen=True)
class ModelCard:
    """A model's card (frozen: change one with ``dataclasses.replace``; saving returns a new card)."""

    id: str
    config: ModelConfig
    sha256: str = ""
    weights_file: str = ""
    version: str = "1"
    created: str = ""
    description: str = ""
    demo: bool = False  # True for untrained/test models: never to be presented as diagnostic
    temperature: float = 1.0
    logit_bias: list[float] | None = None  # added to logits before temperature (undoes class weighting)
    threshold: float | None = None  # operating point on P(positive label)
    positive_label: str | None = None
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    ood: dict | None = None
    base_model: str | None = None
    app_version: str = __version__
    extra: dict = field(default_factory=dict)  # unknown keys from newer cards are kept, not dropped
    path: Path | None = field(default=None, compare=False)  # where the card was read from (not saved)

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    @property
    def positive_index(self) -> int | None:
        if self.positive_label is None:
            return None
        return self.config.labels.index(self.positive_label)

    def metric(self, name: str, split: str = "validation") -> MetricCI | None:
        """A metric with its CI from ``metrics[split]`` (e.g. "auc"); None when the card has none."""
        entries = (self.metrics or {}).get(split)
        return MetricCI.from_dict(entries.get(name)) if isinstance(entries, dict) else None

    @property
    def weights_path(self) -> Path:
        if self.path is None:
            raise ModelStorageError(f"model {self.id!r} has not been saved")
        return self.path.with_name(self.weights_file or f"{self.id}.safetensors")

    def to_dict(self) -> dict:
        d = {"schema": CARD_SCHEMA}
        for f in fields(self):
            if f.name in ("path", "extra"):
                continue
            value = getattr(self, f.name)
            d[f.name] = value.to_dict() if isinstance(value, ModelConfig) else value
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, d: dict, path: Path | None = None) -> "ModelCard":
        known = {f.name for f in fields(cls)} - {"path", "extra"}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["config"] = ModelConfig.from_dict(d["config"])
        extra = {k: v for k, v in d.items() if k not in known and k != "schema"}
        return cls(**kwargs, extra=extra, path=path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: nn.Module, card: ModelCard, directory: str | os.PathLike) -> ModelCard:
    """Save ``model`` with ``card`` into ``directory`` (crash-safe, see :func:`write_model`)."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    # one metadata key: safetensors orders several in a per-process random order (same weights, new sha)
    return write_model(safetensors_save(tensors, metadata={"format": "pt"}), card, directory)


def write_model(blob: bytes, card: ModelCard, directory: str | os.PathLike) -> ModelCard:
    """Commit safetensors ``blob`` + ``card`` into ``directory``; returns the card as saved.

    A kill at any point leaves the previous model or the new one loadable at ``card.id``."""
    if not VALID_ID.fullmatch(card.id):
        raise ModelStorageError(f"invalid model name {card.id!r}: use letters, digits, '.', '_', '-' and '@'")
    directory = Path(directory)
    plain = f"{card.id}.safetensors"
    card = replace(card, sha256=sha256_bytes(blob), weights_file=plain, path=directory / f"{card.id}.json",
                   created=card.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    json.dumps(card.to_dict(), allow_nan=False)  # an unserialisable card fails before any file is touched
    current = _committed_card(card.path)
    if current is not None and current.sha256 == card.sha256 and _intact(current):
        card = replace(card, weights_file=current.weights_path.name)  # same weights: only the card changes
        atomic_write_json(card.path, card.to_dict())
    else:
        if current is not None and current.weights_path.name == plain:  # never write over committed weights
            card = replace(card, weights_file=f"{card.id}+{card.sha256[:12]}.safetensors")
        new = directory / card.weights_file
        try:
            atomic_write_bytes(new, blob)
            atomic_write_json(card.path, card.to_dict())  # the commit point
        except BaseException:
            committed = _committed_card(card.path)
            if committed is None or committed.weights_path != new:
                new.unlink(missing_ok=True)
            raise
    if card.weights_file != plain:
        card = _settle(card, plain)
    remove_stale_files(directory, card.id, keep={card.weights_file})
    return card


def _committed_card(path: Path) -> ModelCard | None:
    try:
        return read_card(path) if path.exists() else None
    except ModelStorageError:
        return None


def _intact(card: ModelCard) -> bool:
    try:
        return sha256_file(card.weights_path) == card.sha256
    except OSError:
        return False


def _settle(card: ModelCard, plain: str) -> ModelCard:
    """Give committed staged weights the plain name: hard link, then the card; keep the staged name
    where links are not possible or the card cannot be rewritten (it works just as well).
    Returns the card as committed."""
    staged = card.weights_path
    tmp = staged.with_name(f".{plain}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.link(staged, tmp)
        os.replace(tmp, staged.with_name(plain))
        settled = replace(card, weights_file=plain)
        atomic_write_json(settled.path, settled.to_dict())
        return settled
    except OSError:
        tmp.unlink(missing_ok=True)
        return card


def remove_stale_files(directory: str | os.PathLike, model_id: str, keep: set[str] = frozenset()) -> None:
    """Remove ``model_id``'s weights files (plain or staged) and temporary files, except ``keep``:
    what a killed save or a deleted model leaves behind. Never fatal."""
    weights = rf"{re.escape(model_id)}(?:\+[0-9a-f]{{12}})?\.safetensors"
    pattern = re.compile(rf"{weights}|\.(?:{weights}|{re.escape(model_id)}\.json)\.\w+\.tmp")
    try:
        names = [p for p in Path(directory).iterdir() if pattern.fullmatch(p.name) and p.name not in keep]
    except OSError:
        return
    for path in names:
        try:
            path.unlink()
        except OSError:
            pass


def read_card(path: str | os.PathLike) -> ModelCard:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelCard.from_dict(data, path=path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON that is not an object
        raise ModelStorageError(f"unreadable model card {path.name}: {exc}") from exc


def load_weights(card: ModelCard, device: str | torch.device = "cpu") -> nn.Module:
    """Build the card's architecture and load its verified weights (eval mode)."""
    try:
        blob = card.weights_path.read_bytes()
    except OSError as exc:
        raise ModelStorageError(f"model {card.id!r}: cannot read weights ({exc.strerror or exc})") from exc
    actual = sha256_bytes(blob)
    if actual != card.sha256:
        raise ModelIntegrityError(
            f"model {card.id!r}: weights sha256 mismatch (card {card.sha256[:12]}…, file {actual[:12]}…); "
            "the file is corrupt or was replaced — refusing to load it"
        )
    model = create_model_from_config(card.config)
    model.load_state_dict(safetensors_load(blob), strict=True)
    return model.to(device).eval()


def load_model(card_path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    card = read_card(card_path)
    return load_weights(card, device), card
