"""Seed ensembles: ``arch_kwargs["members"] = M`` (any family) builds M copies of one architecture whose
logits are averaged, stored and loaded as ONE model (one safetensors file, one card).

Member ``i`` is trained exactly as a single model of seed ``seed + i`` (``core.training.fit``), so a
cross-validation of single models of those seeds on the same folds is the ensemble's, member by member.
``forward_features`` concatenates the members' pooled features (what ``core.ood`` fits on) and
``head`` maps them back to the mean of the members' logits, so ``head(forward_features(x)) == forward(x)``
in eval mode as for every model. Grad-CAM averages the members' maps (``core.explain``).
``arch_kwargs["variants"]`` (a list of keyword sets) makes member i's architecture ``variants[i % len]``
over the shared keywords: a mixed ensemble, whose members err differently (README, session 11).
"""
from __future__ import annotations

import torch
from torch import nn


class MeanHead:
    """The ensemble's head: splits concatenated features per member, applies each member's head and
    averages the logits. A plain object (not a module), so the members' heads are stored once."""

    def __init__(self, members: nn.ModuleList) -> None:
        self._members = members
        self.out_features = members[0].head.out_features

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        chunks = features.split([m.num_features for m in self._members], dim=1)
        return torch.stack([m.head(chunk) for m, chunk in zip(self._members, chunks)]).mean(0)


class SeedEnsemble(nn.Module):
    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.members = nn.ModuleList(members)
        self.num_features = sum(m.num_features for m in members)
        self.head = MeanHead(self.members)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.forward_features(x) for m in self.members], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)


def ensemble_size(arch_kwargs: dict) -> int:
    """Members of a model with these ``arch_kwargs`` (1: a single model)."""
    return int(arch_kwargs.get("members", 1))


def member_kwargs(arch_kwargs: dict, index: int = 0) -> dict:
    """The ``arch_kwargs`` of member ``index``: the shared ones, updated by ``variants[index % len(variants)]``
    when the ensemble mixes architectures of one family (e.g. plain and scattering CNNs)."""
    shared = {k: v for k, v in arch_kwargs.items() if k not in ("members", "variants")}
    variants = arch_kwargs.get("variants") or [{}]
    return {**shared, **variants[index % len(variants)]}
