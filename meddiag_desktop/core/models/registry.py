"""Name -> factory registry for model families."""
from __future__ import annotations

from typing import Callable

from torch import nn

from .config import ModelConfig
from .ensemble import SeedEnsemble, ensemble_size, member_kwargs

_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``factory(num_classes, in_chans, img_size, **kwargs)`` under ``name``."""

    def decorate(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _FACTORIES:
            raise ValueError(f"model family {name!r} is already registered")
        _FACTORIES[name] = factory
        return factory

    return decorate


def list_models() -> list[str]:
    return sorted(_FACTORIES)


def create_model(arch: str, num_classes: int, in_chans: int = 1, img_size: int = 28, **kwargs) -> nn.Module:
    """One model of family ``arch``; ``members=M`` (M >= 2) in ``kwargs``: a ``SeedEnsemble`` of M of them
    (member i built with ``member_kwargs(kwargs, i)``)."""
    if ensemble_size(kwargs) > 1:
        return SeedEnsemble([create_model(arch, num_classes, in_chans, img_size, **member_kwargs(kwargs, i))
                             for i in range(ensemble_size(kwargs))])
    kwargs = member_kwargs(kwargs)  # members=1: a single model
    try:
        factory = _FACTORIES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(list_models())}") from None
    return factory(num_classes=num_classes, in_chans=in_chans, img_size=img_size, **kwargs)


def create_model_from_config(config: ModelConfig) -> nn.Module:
    return create_model(
        config.arch, len(config.labels), config.in_chans, config.img_size, **config.arch_kwargs
    )
