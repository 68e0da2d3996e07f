"""Models on disk: ``ID.safetensors`` + ``ID.json`` model card. No pickle anywhere.

The card records the sha256 of the weights file; loading verifies it and refuses a mismatch.
Both files are written atomically (temporary file + rename), weights first, so a reader never
sees a half-written file and a weights/card pair that do not belong together fails the sha check.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save
from torch import nn

from .. import __version__
from .atomic import atomic_write_bytes, atomic_write_json
from .models import ModelConfig, create_model_from_config

CARD_SCHEMA = 1
VALID_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")  # '@': version IDs, e.g. pneumonia-cnn@2026-11-27T15-04-05


class ModelStorageError(Exception):
    """Base class for model storage problems; ``str(err)`` is a readable message."""


class ModelNotFoundError(ModelStorageError):
    pass


class ModelIntegrityError(ModelStorageError):
    pass


@dataclass
class ModelCard:
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
    """Write weights then card atomically into ``directory``; returns the card as saved."""
    if not VALID_ID.fullmatch(card.id):
        raise ModelStorageError(f"invalid model name {card.id!r}: use letters, digits, '.', '_', '-' and '@'")
    directory = Path(directory)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    blob = safetensors_save(tensors, metadata={"model_id": card.id, "format": "pt"})
    card.sha256 = sha256_bytes(blob)
    card.weights_file = f"{card.id}.safetensors"
    card.created = card.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    card.path = directory / f"{card.id}.json"
    json.dumps(card.to_dict(), allow_nan=False)  # an unserialisable card fails before any file is touched
    atomic_write_bytes(directory / card.weights_file, blob)
    atomic_write_json(card.path, card.to_dict())
    return card


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


class ModelStore:
    """Lists shipped (read-only) and user models and resolves model IDs.

    Versions (core.versions): ``active_cards()`` - and ``resolve("all")`` - give the active model per
    (task, family) from the registry ``registry`` (default: the user data folder's
    ``active_models.json``); a (task, family) without a registry entry keeps all its models."""

    def __init__(self, roots: list[Path] | None = None, registry: str | os.PathLike | None = None) -> None:
        if roots is None:
            from .paths import shipped_weights_dir, user_models_dir

            roots = [shipped_weights_dir(), user_models_dir()]
        self.roots = [Path(r) for r in roots]
        self.registry_path = Path(registry) if registry is not None else None

    @property
    def registry(self):
        """The active-version registry (core.versions.ActiveRegistry)."""
        from .versions import ActiveRegistry

        return ActiveRegistry(self.registry_path)

    @property
    def writable_root(self) -> Path | None:
        """Where new versions go: the last root that is not the shipped weights folder."""
        from .paths import shipped_weights_dir

        shipped = shipped_weights_dir().resolve()
        for root in reversed(self.roots):
            if root.resolve() != shipped:
                return root
        return None

    def active_cards(self, task: str | None = None) -> list[ModelCard]:
        """The active version per (task, family) - what predict, scan and the window use."""
        from .versions import resolve_active

        return resolve_active(self.cards(task), self.registry)

    def cards(self, task: str | None = None) -> list[ModelCard]:
        found: dict[str, ModelCard] = {}
        for root in self.roots:
            for card_path in sorted(root.glob("*.json")) if root.is_dir() else []:
                try:
                    card = read_card(card_path)
                except ModelStorageError:
                    continue  # not a model card (or damaged): skipped, never fatal
                found.setdefault(card.id, card)  # earlier roots (shipped) win on an ID clash
        return [c for c in found.values() if task is None or c.task == task]  # a shadowed card never shows

    def tasks(self) -> list[str]:
        return sorted({c.task for c in self.cards()})

    def find(self, model_id: str) -> ModelCard:
        for card in self.cards():
            if card.id == model_id:
                return card
        known = ", ".join(c.id for c in self.cards()) or "none installed"
        raise ModelNotFoundError(f"no model {model_id!r} (known: {known})")

    def resolve(self, spec: str = "all", task: str | None = None) -> list[ModelCard]:
        """``all`` (the active versions, optionally of one task), one ID, or a comma-separated list of IDs."""
        if spec == "all":
            cards = self.active_cards(task)
            if not cards:
                raise ModelNotFoundError("no models installed" + (f" for task {task!r}" if task else ""))
            return cards
        return [self.find(i.strip()) for i in spec.split(",") if i.strip()]
