"""Which model version is *active* per (task, family): the registry file and the active rule.

The registry (``active_models.json`` in the user data folder, written atomically) holds, per
(task, family), the active model ID and a history stack of the previously active ones::

    {"schema": 1, "groups": [{"task": "pneumonia", "family": "cnn",
                              "active": "pneumonia-cnn@2026-11-27T15-04-05", "history": ["pneumonia-cnn"]}]}

Activating pushes the current one onto the history; rolling back pops it. A (task, family) with
no registry entry is *unversioned*: all of its models count as active. :func:`resolve_active` is
that rule; ``core.model_store.ModelStore.active_cards()`` applies it.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .atomic import atomic_write_json
from .paths import user_data_dir
from .storage import ModelCard, VersionError

__all__ = ["REGISTRY_FILE", "ActiveRegistry", "Group", "default_registry_path", "family_key", "resolve_active"]

log = logging.getLogger(__name__)

REGISTRY_FILE = "active_models.json"
REGISTRY_SCHEMA = 1
MAX_HISTORY = 50


def default_registry_path() -> Path:
    return user_data_dir() / REGISTRY_FILE


# ----------------------------------------------------------------------------------------- registry
@dataclass
class Group:
    task: str
    family: str
    active: str
    history: list[str]

    def to_dict(self) -> dict:
        return {"task": self.task, "family": self.family, "active": self.active, "history": list(self.history)}


class ActiveRegistry:
    """The active-model registry file. Every operation re-reads the file, changes it and writes it
    back atomically; a missing or damaged file reads as empty (logged), never as an error."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_registry_path()

    # -------------------------------------------------------------------- reading
    def groups(self) -> list[Group]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable model registry %s: %s", self.path.name, exc)
            return []
        out = []
        for item in data.get("groups", []) if isinstance(data, dict) else []:
            try:
                history = [str(h) for h in item.get("history", []) if isinstance(h, str)]
                out.append(Group(str(item["task"]), str(item["family"]), str(item["active"]), history))
            except (KeyError, TypeError, AttributeError):
                continue
        return out

    def group(self, task: str, family: str) -> Group | None:
        return next((g for g in self.groups() if g.task == task and g.family == family), None)

    def active_id(self, task: str, family: str) -> str | None:
        group = self.group(task, family)
        return group.active if group else None

    # -------------------------------------------------------------------- writing
    def _write(self, groups: list[Group]) -> None:
        atomic_write_json(self.path, {"schema": REGISTRY_SCHEMA, "groups": [g.to_dict() for g in groups]})

    def _update(self, task: str, family: str, change) -> Group | None:
        groups = self.groups()
        current = next((g for g in groups if g.task == task and g.family == family), None)
        result = change(current)
        groups = [g for g in groups if g is not current]
        if result is not None:
            result.history = result.history[-MAX_HISTORY:]
            groups.append(result)
        self._write(groups)
        return result

    def activate(self, task: str, family: str, model_id: str) -> Group:
        """Make ``model_id`` active; the previously active one goes onto the history stack."""

        def change(group: Group | None) -> Group:
            if group is None:
                return Group(task, family, model_id, [])
            if group.active != model_id:
                group.history = [h for h in group.history if h != group.active] + [group.active]
                group.active = model_id
            return group

        return self._update(task, family, change)

    def ensure(self, task: str, family: str, model_id: str) -> Group:
        """Record ``model_id`` as active only if the (task, family) has no entry yet."""
        return self._update(task, family, lambda g: g or Group(task, family, model_id, []))

    def rollback(self, task: str, family: str, valid_ids: Iterable[str]) -> Group:
        """Re-activate the most recent previously active model that still exists."""
        valid = set(valid_ids)

        def change(group: Group | None) -> Group:
            if group is None:
                raise VersionError(f"no earlier version of the {family} model for task {task!r} to roll back to")
            history = list(group.history)
            while history:
                candidate = history.pop()
                if candidate in valid and candidate != group.active:
                    return Group(task, family, candidate, history)
            raise VersionError(f"no earlier version of the {family} model for task {task!r} to roll back to")

        return self._update(task, family, change)

    def forget(self, model_id: str, valid_ids: Iterable[str]) -> None:
        """Drop ``model_id`` everywhere (it was deleted); where it was active, fall back to the
        previous version that still exists, or make the group unversioned when there is none."""
        valid = set(valid_ids) - {model_id}
        groups = []
        for group in self.groups():
            group.history = [h for h in group.history if h != model_id]
            if group.active == model_id:
                while group.history and group.history[-1] not in valid:
                    group.history.pop()
                if not group.history:
                    continue  # nothing to fall back to: unversioned again (all remaining models show)
                group.active = group.history.pop()
            groups.append(group)
        self._write(groups)


# ----------------------------------------------------------------------------------------- resolving
def family_key(card: ModelCard) -> tuple[str, str]:
    return card.task, card.config.arch


def resolve_active(cards: list[ModelCard], registry: ActiveRegistry) -> list[ModelCard]:
    """The active cards among ``cards`` (store order kept): per (task, family) the registry's active
    one, else its most recent existing predecessor, else - unversioned - every card of the group."""
    groups: dict[tuple[str, str], list[ModelCard]] = {}
    for card in cards:
        groups.setdefault(family_key(card), []).append(card)
    entries = {(g.task, g.family): g for g in registry.groups()}
    chosen: set[str] = set()
    for key, members in groups.items():
        by_id = {c.id: c for c in members}
        entry = entries.get(key)
        pick = None
        if entry is not None:
            for candidate in [entry.active, *reversed(entry.history)]:
                if candidate in by_id:
                    pick = candidate
                    break
        chosen.update([pick] if pick else by_id)
    return [c for c in cards if c.id in chosen]
