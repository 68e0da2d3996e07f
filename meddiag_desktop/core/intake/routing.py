"""Which models analyse an item: rules map what is known of it (DICOM Modality, Photometric
Interpretation, Body Part Examined; the watched sub-folder) to a task.

A routing file is JSON, the first matching rule wins, a rule's missing keys match anything,
values compare case-insensitively::

    {"rules": [{"modality": "MG", "task": "breast"},
               {"body_part": "CHEST", "task": "pneumonia"},
               {"folder": "mammo", "task": "breast"}]}

An item no rule matches goes to the default models (those the user chose: all models of the
active task, or all). Facts are read from the DICOM header only (``stop_before_pixels``, four
tags, nothing about the patient).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path


from .events import ItemFacts

__all__ = ["FACT_TAGS", "ItemFacts", "Routing", "RoutingError", "Rule", "facts_of", "read_facts"]

FACT_TAGS = ("Modality", "PhotometricInterpretation", "BodyPartExamined")


@dataclass(frozen=True)
class Rule:
    task: str
    modality: str | None = None
    photometric: str | None = None
    body_part: str | None = None
    folder: str | None = None

    def matches(self, facts: ItemFacts) -> bool:
        for f in fields(ItemFacts):
            wanted = getattr(self, f.name)
            if wanted is not None and wanted.strip().upper() != getattr(facts, f.name).strip().upper():
                return False
        return True


class RoutingError(ValueError):
    """A routing file that cannot be used; ``str()`` says why."""


@dataclass(frozen=True)
class Routing:
    rules: tuple[Rule, ...] = ()

    def task_for(self, facts: ItemFacts) -> str | None:
        """The first matching rule's task; None: the default models."""
        return next((rule.task for rule in self.rules if rule.matches(facts)), None)

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(rule.task for rule in self.rules))

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "Routing":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            rules = tuple(Rule(**rule) for rule in data["rules"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RoutingError(f"cannot use routing file {path}: {exc}") from None
        if any(not rule.task for rule in rules):
            raise RoutingError(f"cannot use routing file {path}: every rule needs a task")
        return cls(rules)


def read_facts(path: str | os.PathLike, folder: str = "") -> ItemFacts:
    """The routing facts of a stored item (empty for non-DICOM or unreadable files)."""
    from pydicom import dcmread  # here: checking a rules file in the window loads no pydicom

    try:
        header = dcmread(path, stop_before_pixels=True, specific_tags=list(FACT_TAGS))
    except Exception:  # not DICOM, or damaged: routed by folder only
        return ItemFacts(folder=folder)
    return facts_of(header, folder)


def facts_of(header, folder: str = "") -> ItemFacts:
    """The routing facts of a DICOM header already read (a pydicom ``Dataset``)."""
    return ItemFacts(*(str(header.get(tag) or "") for tag in FACT_TAGS), folder=folder)
