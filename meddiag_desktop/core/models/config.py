"""The configuration that travels with a model's weights (stored in its model card)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModelConfig:
    arch: str  # registered family: "cnn" | "rnn" | "transformer"
    task: str  # e.g. "pneumonia"
    labels: tuple[str, ...]  # class names, index = class id
    img_size: int = 28  # square input side in pixels
    in_chans: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    arch_kwargs: dict = field(default_factory=dict)  # extra factory arguments (widths, depth ...)

    def __post_init__(self) -> None:
        if len(self.labels) < 2:
            raise ValueError("a classifier needs at least two labels")
        if len(self.mean) != self.in_chans or len(self.std) != self.in_chans:
            raise ValueError("mean/std need one value per input channel")

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"], d["mean"], d["std"] = list(self.labels), list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(
            arch=d["arch"],
            task=d["task"],
            labels=tuple(d["labels"]),
            img_size=int(d.get("img_size", 28)),
            in_chans=int(d.get("in_chans", 1)),
            mean=tuple(float(v) for v in d.get("mean", (0.5,))),
            std=tuple(float(v) for v in d.get("std", (0.25,))),
            arch_kwargs=dict(d.get("arch_kwargs", {})),
        )
