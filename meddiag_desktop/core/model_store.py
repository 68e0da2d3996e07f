"""The installed models: model cards of the shipped and user folders, and the active-version rule.

``ModelStore`` lists the cards of its roots (earlier roots win on an ID clash), finds a model by
ID and applies ``active_registry.resolve_active``; card and weights I/O is ``core.storage``.
"""
from __future__ import annotations

import os
from pathlib import Path

from .active_registry import ActiveRegistry, resolve_active
from .paths import shipped_weights_dir, user_models_dir
from .storage import ModelCard, ModelNotFoundError, ModelStorageError, read_card

__all__ = ["ModelStore"]


class ModelStore:
    """Lists shipped (read-only) and user models and resolves model IDs.

    Versions (core.versions): ``active_cards()`` - and ``resolve("all")`` - give the active model per
    (task, family) from the registry ``registry`` (default: the user data folder's
    ``active_models.json``); a (task, family) without a registry entry keeps all its models."""

    def __init__(self, roots: list[Path] | None = None, registry: str | os.PathLike | None = None) -> None:
        if roots is None:
            roots = [shipped_weights_dir(), user_models_dir()]
        self.roots = [Path(r) for r in roots]
        self.registry_path = Path(registry) if registry is not None else None

    @property
    def registry(self):
        """The active-version registry."""
        return ActiveRegistry(self.registry_path)

    @property
    def writable_root(self) -> Path | None:
        """Where new versions go: the last root that is not the shipped weights folder."""
        shipped = shipped_weights_dir().resolve()
        for root in reversed(self.roots):
            if root.resolve() != shipped:
                return root
        return None

    def active_cards(self, task: str | None = None) -> list[ModelCard]:
        """The active version per (task, family) - what predict, scan and the window use."""
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
        """The card of ``model_id``: its own file ``ID.json`` (as every card is saved) in the first root that
        has one, read alone (a card is 0.1-0.5 MB of JSON: reading all of them cost a scan ~25 ms), else
        any card of that ID (a renamed file)."""
        for root in self.roots:
            path = root / f"{model_id}.json"
            try:
                card = read_card(path) if path.is_file() else None
            except ModelStorageError:
                card = None
            if card is not None and card.id == model_id:
                return card
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
