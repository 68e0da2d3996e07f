"""Seed ensembles (``arch_kwargs["members"]``): one model to the registry, training, storage, Predictor,
explain and the OOD detector."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from meddiag_desktop.core import explain as explain_module
from meddiag_desktop.core.cross_validation import cross_validate
from meddiag_desktop.core.data import MemberAugments, TensorDataset, for_member, load_npz
from meddiag_desktop.core.inference import Predictor
from meddiag_desktop.core.models import ModelConfig, SeedEnsemble, create_model_from_config, ensemble_size
from meddiag_desktop.core.pipeline import augmenter, initial_model
from meddiag_desktop.core.storage import ModelCard, load_model, save_model
from meddiag_desktop.core.training import TrainConfig, fit
from meddiag_desktop.core.training_events import CrossValidated, EpochEnd, FitEnd, StepEnd, TrainedModel

SINGLE = ModelConfig(arch="cnn", task="toy", labels=("a", "b"), arch_kwargs={"widths": [4, 8, 8, 8]})
ENSEMBLE = replace(SINGLE, arch_kwargs={**SINGLE.arch_kwargs, "members": 3})
CFG = TrainConfig(epochs=2, batch_size=16, device="cpu", lr=5e-3, seed=4, ema_decay=0.9)


def test_an_ensemble_is_one_model_whose_head_averages_its_members():
    model = initial_model(ENSEMBLE, seed=4).eval()
    assert isinstance(model, SeedEnsemble) and ensemble_size(ENSEMBLE.arch_kwargs) == 3
    assert isinstance(create_model_from_config(replace(SINGLE, arch_kwargs={**SINGLE.arch_kwargs, "members": 1})),
                      torch.nn.Module) and not isinstance(initial_model(SINGLE, 0), SeedEnsemble)
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        logits = model(x)
        assert torch.allclose(model.head(model.forward_features(x)), logits, atol=1e-6)
        assert model.forward_features(x).shape == (5, 3 * 8) and model.head.out_features == 2
        assert torch.allclose(logits, torch.stack([m(x) for m in model.members]).mean(0))
    # member i starts as a single model of seed + i: different members, reproducible
    for i, member in enumerate(model.members):
        single = initial_model(SINGLE, seed=4 + i).state_dict()
        assert all(torch.equal(v, single[k]) for k, v in member.state_dict().items())
    assert not torch.equal(model.members[0].head.weight, model.members[1].head.weight)
    # the members' heads are stored once: no tied tensors in the state dict
    assert sum(k.endswith("head.weight") for k in model.state_dict()) == 3


def test_members_train_exactly_as_single_models_of_their_seeds(tiny_npz):
    train = TensorDataset(load_npz(tiny_npz, "train", SINGLE.labels), SINGLE)
    val = TensorDataset(load_npz(tiny_npz, "val", SINGLE.labels), SINGLE)
    model = initial_model(ENSEMBLE, seed=CFG.seed)
    events = list(fit(model, train, val, CFG))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5, 6] and {e.epochs for e in epochs} == {6}
    assert {e.epochs for e in events if isinstance(e, StepEnd)} == {6}
    end = events[-1]
    assert isinstance(end, FitEnd) and end.epochs_run == 2 and len(end.history) == 2
    single = initial_model(SINGLE, seed=CFG.seed + 1)
    single_end = list(fit(single, train, val, replace(CFG, seed=CFG.seed + 1)))[-1]
    assert all(torch.equal(v, single.state_dict()[k]) for k, v in model.members[1].state_dict().items())
    member_logits = [list(fit(initial_model(SINGLE, seed=CFG.seed + i), train, val,
                              replace(CFG, seed=CFG.seed + i)))[-1].val_logits for i in (0, 2)]
    expected = np.mean([member_logits[0], single_end.val_logits, member_logits[1]], axis=0)
    np.testing.assert_allclose(end.val_logits, expected, atol=1e-5)


def test_each_member_trains_with_its_own_augmentation_as_the_single_model_would(tiny_npz):
    data = load_npz(tiny_npz, "train", SINGLE.labels)
    val = TensorDataset(load_npz(tiny_npz, "val", SINGLE.labels), SINGLE)
    per_member = augmenter([{"hflip": 0.5}, True])  # member 0 (and 2) flipped, member 1 the default
    assert isinstance(per_member, MemberAugments) and per_member.of(2).hflip == 0.5 and per_member.of(1).hflip == 0
    model = initial_model(ENSEMBLE, seed=CFG.seed)
    list(fit(model, TensorDataset(data, SINGLE, per_member), val, CFG))
    for i, augment in enumerate(({"hflip": 0.5}, True, {"hflip": 0.5})):
        single = initial_model(SINGLE, seed=CFG.seed + i)
        list(fit(single, TensorDataset(data, SINGLE, augmenter(augment)), val, replace(CFG, seed=CFG.seed + i)))
        assert all(torch.equal(v, single.state_dict()[k]) for k, v in model.members[i].state_dict().items())
    # the flip changed member 0: trained with the default augmentation it ends elsewhere
    plain = initial_model(SINGLE, seed=CFG.seed)
    list(fit(plain, TensorDataset(data, SINGLE, augmenter(True)), val, CFG))
    assert not torch.equal(plain.head.weight, model.members[0].head.weight)
    # the copy a member trains on shares the cached tensors; a plain augmentation is handed over as it is
    train = TensorDataset(data, SINGLE, per_member)
    assert for_member(train, 1).inputs is train.inputs and for_member(train, 1).augment is per_member.of(1)
    assert for_member(val, 1) is val


def test_each_member_trains_with_its_own_settings_as_the_single_model_would(tiny_npz):
    train = TensorDataset(load_npz(tiny_npz, "train", SINGLE.labels), SINGLE)
    val = TensorDataset(load_npz(tiny_npz, "val", SINGLE.labels), SINGLE)
    cfg = replace(CFG, member_settings=({}, {"label_smoothing": 0.2, "lr": 1e-2}))
    assert cfg.for_member(1) == replace(CFG, seed=CFG.seed + 1, label_smoothing=0.2, lr=1e-2, member_settings=cfg.member_settings)
    assert cfg.for_member(2).label_smoothing == 0.0 and CFG.for_member(2) == replace(CFG, seed=CFG.seed + 2)
    model = initial_model(ENSEMBLE, seed=CFG.seed)
    list(fit(model, train, val, cfg))
    for i, settings in enumerate(({}, {"label_smoothing": 0.2, "lr": 1e-2}, {})):
        single = initial_model(SINGLE, seed=CFG.seed + i)
        list(fit(single, train, val, replace(CFG, seed=CFG.seed + i, **settings)))
        assert all(torch.equal(v, single.state_dict()[k]) for k, v in model.members[i].state_dict().items())
    plain = initial_model(SINGLE, seed=CFG.seed + 1)
    list(fit(plain, train, val, replace(CFG, seed=CFG.seed + 1)))
    assert not torch.equal(plain.head.weight, model.members[1].head.weight)  # the settings changed member 1
    for setting in ({"seed": 3}, {"epochs": 5}):
        with pytest.raises(ValueError, match="seed, epochs"):
            replace(CFG, member_settings=(setting,)).for_member(0)


def test_cross_validated_ensemble_saves_predicts_explains_and_detects(tiny_npz, tmp_path):
    config = replace(ENSEMBLE, arch_kwargs={**SINGLE.arch_kwargs, "members": 2})
    train, val = load_npz(tiny_npz, "train", config.labels), load_npz(tiny_npz, "val", config.labels)
    events = list(cross_validate("toy-cnn", config, train, val, replace(CFG, epochs=1), 2, n_boot=20))
    [validated] = [e for e in events if isinstance(e, CrossValidated)]
    [trained] = [e for e in events if isinstance(e, TrainedModel)]
    assert validated.logits.shape == (96, 2) and [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2, 3, 4]
    card = save_model(trained.model, trained.card, tmp_path / "store")
    assert card.config.arch == "cnn" and card.config.arch_kwargs["members"] == 2
    assert sorted(p.suffix for p in (tmp_path / "store").iterdir()) == [".json", ".safetensors"]  # one model
    model, again = load_model(card.path)
    assert isinstance(model, SeedEnsemble) and again.ood is not None
    predictor = Predictor(again, "cpu")
    images = [img / 255.0 for img in load_npz(tiny_npz, "val", config.labels).images[:4]]
    probs, ood_ratio = predictor.score_arrays(images)
    assert probs.shape == (4, 2) and np.allclose(probs.sum(1), 1) and ood_ratio.shape == (4,)
    with torch.no_grad():
        x = predictor.preprocess(images[0])[None]
        assert torch.allclose(model(x), trained.model(x), atol=1e-6)
    noise = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    assert predictor.score_arrays([noise])[1][0] > np.median(ood_ratio)  # noise is farther out than breast-like images
    # Grad-CAM (the cnn family's default) is the mean of the members' maps
    shown = explain_module.explain(model, again.config, images[0])
    assert shown.method == "gradcam" and shown.heatmap.shape == (28, 28) and 0 < shown.heatmap.max() <= 1
    x = explain_module.preprocess(images[0], again.config)[None]
    maps = [explain_module.gradcam(m, x, shown.target) for m in model.members]
    mean = np.mean(maps, axis=0)
    np.testing.assert_allclose(explain_module.gradcam(model, x, shown.target), mean / mean.max(), atol=1e-6)


def test_fine_tuning_an_ensemble_with_new_labels_keeps_all_but_the_heads(tmp_path):
    base_model = initial_model(ENSEMBLE, seed=0)
    base = save_model(base_model, _card(ENSEMBLE), tmp_path)
    config = replace(ENSEMBLE, labels=("x", "y", "z"))
    model = initial_model(config, seed=1, base=base)
    assert torch.equal(model.members[2].stem[0].weight, base_model.members[2].stem[0].weight)
    assert model.members[0].head.out_features == 3


def _card(config: ModelConfig) -> ModelCard:
    return ModelCard(id="toy-cnn", config=config, description="toy", demo=True)


@pytest.mark.parametrize("members", [0, 1])
def test_one_member_or_none_is_a_single_model(members):
    config = replace(SINGLE, arch_kwargs={**SINGLE.arch_kwargs, "members": members})
    assert not isinstance(create_model_from_config(config), SeedEnsemble) and ensemble_size(config.arch_kwargs) == members


def test_a_mixed_ensemble_starts_each_member_as_the_single_model_of_its_variant_and_seed(tmp_path):
    hybrid = {"scattering": 2, "widths": [8, 16], "depths": [1, 1]}
    config = replace(SINGLE, arch_kwargs={**SINGLE.arch_kwargs, "members": 3, "variants": [{}, hybrid]})
    model = initial_model(config, seed=4).eval()
    for i, member in enumerate(model.members):
        variant = ({}, hybrid)[i % 2]
        single = initial_model(replace(SINGLE, arch_kwargs={**SINGLE.arch_kwargs, **variant}), seed=4 + i).state_dict()
        state = member.state_dict()
        assert state.keys() == single.keys() and all(torch.equal(v, single[k]) for k, v in state.items())
    assert type(model.members[1].stem).__name__ == "ScatteringStem"
    saved = save_model(model, _card(config), tmp_path)
    loaded, card = load_model(saved.path)
    assert card.config.arch_kwargs["variants"] == [{}, hybrid]
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_a_transformer_pair_with_a_scattering_member_explains_by_the_mean_rollout():
    config = ModelConfig(arch="transformer", task="toy", labels=("a", "b"),
                         arch_kwargs={"d_model": 16, "heads": 2, "depth": 2, "patch_size": 1, "stem": [8],
                                      "members": 2, "variants": [{}, {"scattering": 2}]})
    model = initial_model(config, seed=0).eval()
    assert [type(m.stem).__name__ for m in model.members] == ["Sequential", "ScatteringStem"]
    x = torch.rand(1, 1, 28, 28)
    maps = [explain_module.attention_rollout(m, x) for m in model.members]
    mean = np.mean(maps, axis=0)
    np.testing.assert_allclose(explain_module.attention_rollout(model, x), mean / mean.max(), atol=1e-6)
    shown = explain_module.explain(model, config, x[0, 0].numpy())
    assert shown.method == "attention" and shown.heatmap.shape == (28, 28) and 0 < shown.heatmap.max() <= 1
