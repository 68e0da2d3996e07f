"""Starting a model from another task's weights (``pipeline.transfer_weights`` / ``initial_model(base=...)``)
and fine-tuning it gently (``TrainConfig.backbone_lr``)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.pipeline import initial_model, transfer_weights
from meddiag_desktop.core.storage import ModelCard, save_model
from meddiag_desktop.core.training import TrainConfig, make_optimizer

SOURCE = ModelConfig(arch="cnn", task="chest", labels=("normal", "pneumonia"), arch_kwargs={"widths": [4, 8, 8, 8]})
TARGET = ModelConfig(arch="cnn", task="breast", labels=("malignant", "benign"), arch_kwargs={"widths": [4, 8, 8, 8]})


def _saved(config: ModelConfig, seed: int, tmp_path) -> tuple[torch.nn.Module, ModelCard]:
    model = initial_model(config, seed)
    return model, save_model(model, ModelCard(id=f"{config.task}-cnn", config=config, description="toy"), tmp_path)


def test_another_tasks_weights_change_the_starting_point_but_not_the_head(tmp_path):
    source, card = _saved(SOURCE, seed=7, tmp_path=tmp_path)
    scratch = initial_model(TARGET, seed=0).state_dict()
    started = initial_model(TARGET, seed=0, base=card).state_dict()
    for name, value in started.items():
        if name.startswith("head."):  # other classes: the head keeps its own seeded initialisation
            assert torch.equal(value, scratch[name])
        else:
            assert torch.equal(value, source.state_dict()[name])
    assert not torch.equal(started["stem.0.weight"], scratch["stem.0.weight"])


def test_a_single_base_starts_every_member_of_a_seed_ensemble(tmp_path):
    source, card = _saved(SOURCE, seed=7, tmp_path=tmp_path)
    ensemble = initial_model(replace(TARGET, arch_kwargs={**TARGET.arch_kwargs, "members": 3}), seed=0, base=card)
    for member in ensemble.members:
        assert torch.equal(member.stages[2][0].conv1.weight, source.stages[2][0].conv1.weight)
    heads = [member.head.weight for member in ensemble.members]
    assert not torch.equal(heads[0], heads[1])  # seeds still differ where nothing is transferred


def test_mismatched_architectures_give_a_clear_error(tmp_path):
    _, wider = _saved(replace(SOURCE, arch_kwargs={"widths": [8, 8, 8, 8]}), seed=0, tmp_path=tmp_path)
    with pytest.raises(ValueError, match=r"chest-cnn.*architecture differs: stem\.0\.weight \(8, 1, 3, 3\) vs \(4, 1, 3, 3\)"):
        initial_model(TARGET, seed=0, base=wider)
    deeper = initial_model(replace(SOURCE, arch_kwargs={"widths": [4, 8, 8, 8], "depths": [1, 1, 1, 2]}), 0)
    with pytest.raises(ValueError, match=r"stages\.3\.1\.conv1\.weight not in the model"):
        transfer_weights(initial_model(TARGET, 0), deeper, keep_head=False)


def test_backbone_lr_scales_every_layer_but_the_head():
    model = initial_model(TARGET, 0)
    plain = make_optimizer(model, TrainConfig(lr=1e-3))
    assert {g["lr"] for g in plain.param_groups} == {1e-3}
    gentle = make_optimizer(model, TrainConfig(lr=1e-3, backbone_lr=0.1))
    head = {id(p) for p in model.head.parameters()}
    for group in gentle.param_groups:
        in_head = {id(p) in head for p in group["params"]}
        assert in_head in ({True}, {False}, set())
        assert group["lr"] == pytest.approx(1e-3 if in_head == {True} else 1e-4)
    counted = sum(p.numel() for g in gentle.param_groups for p in g["params"])
    assert counted == sum(p.numel() for p in model.parameters())
