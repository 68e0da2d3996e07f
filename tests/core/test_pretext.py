"""The rotation pretext (``core.pretext``): labels, reproducible training, and a model started from it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.pipeline import initial_model
from meddiag_desktop.core.pretext import ROTATIONS, pretext_config, rotated, rotation_pretext
from meddiag_desktop.core.training import TrainConfig
from meddiag_desktop.core.training_events import EpochEnd, FitEnd

TARGET = ModelConfig(arch="cnn", task="breast", labels=("malignant", "benign"), mean=(0.33,), std=(0.21,),
                     arch_kwargs={"widths": [4, 8, 8, 8], "members": 2})
CFG = TrainConfig(epochs=2, lr=5e-3, batch_size=32, device="cpu", seed=3)


def images(n=24, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
    out[:, :6, :] += 150  # a bright top band: which way is up is learnable
    return out


def test_every_image_comes_four_times_labelled_by_its_turn():
    data = rotated(images(5))
    assert data.label_names == ROTATIONS and len(data) == 20
    assert data.labels.tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    assert np.array_equal(data.images[5 * 2 + 1], np.rot90(images(5)[1], 2))
    with pytest.raises(ValueError, match="square"):
        rotated(np.zeros((3, 28, 20), dtype=np.uint8))


def test_the_pretext_model_is_one_member_of_the_targets_architecture():
    config = pretext_config(TARGET)
    assert config.labels == ROTATIONS and "members" not in config.arch_kwargs
    assert (config.mean, config.std, config.img_size) == (TARGET.mean, TARGET.std, TARGET.img_size)


def _pretrained(seed: int) -> tuple[torch.nn.Module, list]:
    config = pretext_config(TARGET)
    model = initial_model(config, seed)
    events = list(rotation_pretext(model, config, images(), CFG))
    return model, events


def test_the_pretext_learns_and_is_reproducible_bit_for_bit():
    model, events = _pretrained(0)
    losses = [e.train_loss for e in events if isinstance(e, EpochEnd)]
    assert len(losses) == CFG.epochs and isinstance(events[-1], FitEnd) and events[-1].status == "completed"
    untouched = initial_model(pretext_config(TARGET), 0).state_dict()
    assert not torch.equal(model.stem[0].weight, untouched["stem.0.weight"])
    again, _ = _pretrained(0)
    for name, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name


def test_a_model_started_from_the_pretext_keeps_its_layers_not_its_head():
    pretrained, _ = _pretrained(0)
    model = initial_model(TARGET, seed=1, start_from=pretrained)
    for member in model.members:
        assert torch.equal(member.stages[0][0].conv1.weight, pretrained.stages[0][0].conv1.weight)
        assert member.head.out_features == 2
    scratch = initial_model(TARGET, seed=1)
    assert torch.equal(model.members[1].head.weight, scratch.members[1].head.weight)
