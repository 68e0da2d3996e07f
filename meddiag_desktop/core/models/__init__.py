"""Model registry (timm-style): families register a factory, ``create_model`` builds one.

Every model maps ``(N, C, H, W)`` float tensors to ``(N, num_classes)`` logits and exposes
``forward_features`` (pooled penultimate features, used for OOD statistics) and ``head``.
"""
from __future__ import annotations

from .config import ModelConfig
from .ensemble import SeedEnsemble, ensemble_size, member_kwargs
from .registry import create_model, create_model_from_config, list_models, register_model

# Importing the family modules registers them.
from . import cnn, rnn, transformer  # noqa: E402,F401

__all__ = ["ModelConfig", "SeedEnsemble", "create_model", "create_model_from_config", "ensemble_size", "list_models",
           "member_kwargs", "register_model"]
