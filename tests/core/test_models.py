"""Tests for meddiag_desktop.core.models: registry, ModelConfig and the three families (tiny sizes)."""

from __future__ import annotations

import json

import pytest
import torch

from meddiag_desktop.core.models import (
    ModelConfig,
    create_model,
    create_model_from_config,
    list_models,
    register_model,
)
from meddiag_desktop.core.models import registry

from testkit import assert_close

# Tiny per-family sizes so every parametrised case runs in milliseconds.
TINY = {
    "cnn": {"widths": (4, 8, 8, 8), "depths": (1, 1, 1, 1)},
    "rnn": {"hidden": 8, "embed": 8, "layers": 2},
    "transformer": {"d_model": 16, "heads": 2, "depth": 2, "patch_size": 4},
}
FAMILIES = list_models()
SHAPES = [(img, chans) for img in (28, 32) for chans in (1, 3)]




def _tiny(arch: str, num_classes: int = 3, in_chans: int = 1, img_size: int = 28) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(arch, num_classes, in_chans, img_size, **TINY.get(arch, {}))


def _input(n: int, in_chans: int, img_size: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, in_chans, img_size, img_size, generator=torch.Generator().manual_seed(seed))


def test_every_family_is_registered_and_has_tiny_settings():
    assert {"cnn", "rnn", "transformer"} <= set(FAMILIES)
    assert set(FAMILIES) <= set(TINY), f"add tiny settings for new families: {set(FAMILIES) - set(TINY)}"


def test_torch_free_family_list_is_the_registry():
    from meddiag_desktop.core.tasks import FAMILIES as DISPLAY_ORDER

    assert sorted(DISPLAY_ORDER) == list_models() and len(set(DISPLAY_ORDER)) == len(DISPLAY_ORDER)


# --------------------------------------------------------------------------- shapes and gradients
@pytest.mark.parametrize("img_size,in_chans", SHAPES)
@pytest.mark.parametrize("arch", FAMILIES)
def test_forward_features_and_head_shapes(arch, img_size, in_chans):
    model = _tiny(arch, 3, in_chans, img_size).eval()
    x = _input(2, in_chans, img_size)
    with torch.no_grad():
        logits = model(x)
        feats = model.forward_features(x)
        via_head = model.head(feats)
    assert logits.shape == (2, 3)
    assert feats.shape == (2, model.num_features)
    assert torch.isfinite(logits).all() and torch.isfinite(feats).all()
    assert_close(via_head, logits, 1e-6)


@pytest.mark.parametrize("img_size,in_chans", SHAPES)
@pytest.mark.parametrize("arch", FAMILIES)
def test_backward_gives_finite_grads_for_every_trainable_param(arch, img_size, in_chans):
    model = _tiny(arch, 2, in_chans, img_size).train()
    loss = torch.nn.functional.cross_entropy(model(_input(3, in_chans, img_size)), torch.tensor([0, 1, 1]))
    loss.backward()
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    assert params
    missing = [name for name, p in params if p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    bad = [name for name, p in params if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients in {bad}"
    assert any(p.grad.abs().sum() > 0 for _, p in params)


@pytest.mark.parametrize("arch", FAMILIES)
def test_default_sizes_build_and_run(arch):
    model = create_model(arch, 2).eval()
    with torch.no_grad():
        assert model(_input(1, 1, 28)).shape == (1, 2)


@pytest.mark.parametrize("arch", FAMILIES)
def test_eval_mode_is_deterministic(arch):
    model = _tiny(arch).eval()
    x = _input(2, 1, 28)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_cnn_cam_layer_is_last_stage_with_spatial_maps():
    model = _tiny("cnn").eval()
    seen = []
    model.cam_layer.register_forward_hook(lambda m, i, o: seen.append(o))
    with torch.no_grad():
        model(_input(2, 1, 28))
    assert model.cam_layer is model.stages[-1]
    assert len(seen) == 1 and seen[0].ndim == 4 and seen[0].shape[:2] == (2, model.num_features)


# --------------------------------------------------------------------------- registry
def test_unknown_arch_raises_value_error_naming_known_ones():
    with pytest.raises(ValueError) as info:
        create_model("vgg-nonexistent", 2)
    message = str(info.value)
    assert "vgg-nonexistent" in message
    for name in FAMILIES:
        assert name in message


def test_duplicate_registration_raises_and_keeps_original(monkeypatch):
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    original = registry._FACTORIES["cnn"]
    with pytest.raises(ValueError, match="already registered"):
        register_model("cnn")(lambda **kw: None)
    assert registry._FACTORIES["cnn"] is original


def test_registered_factory_receives_arguments(monkeypatch):
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    calls = []

    @register_model("probe")
    def probe(num_classes, in_chans, img_size, **kw):
        calls.append((num_classes, in_chans, img_size, kw))
        return torch.nn.Identity()

    assert "probe" in list_models()
    create_model("probe", 5, 3, 32, depth=7)
    assert calls == [(5, 3, 32, {"depth": 7})]


# --------------------------------------------------------------------------- ModelConfig
def _config(**overrides) -> ModelConfig:
    values = dict(arch="cnn", task="pneumonia", labels=("a", "b", "c"), img_size=32, in_chans=3,
                  mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), arch_kwargs={"widths": [4, 8], "depths": [1, 1]})
    values.update(overrides)
    return ModelConfig(**values)


@pytest.mark.parametrize("arch", FAMILIES)
def test_create_model_from_config_honours_config(arch):
    config = _config(arch=arch, arch_kwargs=dict(TINY[arch]))
    model = create_model_from_config(config).eval()
    with torch.no_grad():
        assert model(_input(2, 3, 32)).shape == (2, 3)
        with pytest.raises((ValueError, RuntimeError)):
            model(_input(2, 1, 32))  # in_chans honoured: one channel is rejected


def test_create_model_from_config_passes_arch_kwargs_and_sizes():
    cnn = create_model_from_config(_config())
    assert cnn.num_features == 8 and cnn.stem[0].in_channels == 3 and cnn.head.out_features == 3
    tr = create_model_from_config(_config(arch="transformer", arch_kwargs={"d_model": 16, "heads": 2, "depth": 1}))
    assert tr.num_features == 16 and tr.pos_embed.shape == (1, 1 + (32 // 4) ** 2, 16)
    rnn = create_model_from_config(_config(arch="rnn", arch_kwargs={"hidden": 8, "embed": 8}))
    assert rnn.num_features == 2 * 8 * 2 and rnn.embed[0].in_features == 3 * 32


def test_create_model_from_config_does_not_mutate_config():
    config = _config()
    create_model_from_config(config)
    assert config.arch_kwargs == {"widths": [4, 8], "depths": [1, 1]}


def test_config_rejects_a_single_label():
    with pytest.raises(ValueError, match="two labels"):
        _config(labels=("only",))


@pytest.mark.parametrize("field,value", [("mean", (0.5,)), ("std", (0.5, 0.5)), ("mean", (0.1, 0.2, 0.3, 0.4))])
def test_config_rejects_mean_std_length_mismatch(field, value):
    with pytest.raises(ValueError, match="mean/std"):
        _config(**{field: value})


def test_config_round_trips_through_json():
    config = _config()
    d = json.loads(json.dumps(config.to_dict()))
    assert d["labels"] == ["a", "b", "c"] and d["mean"] == [0.4, 0.5, 0.6]
    back = ModelConfig.from_dict(d)
    assert back == config
    assert back.num_classes == 3 and isinstance(back.labels, tuple) and isinstance(back.std, tuple)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        _config().img_size = 64


# --------------------------------------------------------------------------- transformer attention
def _replay_encoder(model, x):
    """Replay the pre-norm encoder layers by hand (as attention_maps does) and return the final tokens."""
    tokens = model._tokens(x)
    for layer in model.encoder.layers:
        h = layer.norm1(tokens)
        tokens = tokens + layer.self_attn(h, h, h, need_weights=False)[0]
        tokens = tokens + layer.linear2(layer.activation(layer.linear1(layer.norm2(tokens))))
    return tokens


def _layer_inputs(model, x):
    """The tokens that actually enter each encoder layer during ``model.encoder``."""
    inputs = []
    hooks = [layer.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
             for layer in model.encoder.layers]
    try:
        out = model.encoder(model._tokens(x))
    finally:
        for hook in hooks:
            hook.remove()
    return inputs, out


@pytest.mark.parametrize("img_size,in_chans", SHAPES)
def test_attention_maps_are_row_stochastic_per_layer(img_size, in_chans):
    model = _tiny("transformer", 2, in_chans, img_size).eval()
    maps = model.attention_maps(_input(3, in_chans, img_size))
    tokens = 1 + (img_size // 4) ** 2
    assert len(maps) == len(model.encoder.layers) == TINY["transformer"]["depth"]
    for m in maps:
        assert m.shape == (3, tokens, tokens)
        assert (m >= 0).all()
        assert_close(m.sum(-1), torch.ones(3, tokens), 1e-5)


def test_attention_replay_matches_the_real_encoder():
    model = _tiny("transformer", 2, 1, 28).eval()
    x = _input(2, 1, 28)
    with torch.no_grad():
        inputs, encoded = _layer_inputs(model, x)
        assert_close(_replay_encoder(model, x), encoded, 1e-5)
        maps = model.attention_maps(x)
        for layer, layer_in, m in zip(model.encoder.layers, inputs, maps):
            h = layer.norm1(layer_in)
            expected = layer.self_attn(h, h, h, need_weights=True, average_attn_weights=True)[1]
            assert_close(m, expected, 1e-5)


def test_attention_maps_leave_model_and_outputs_unchanged():
    model = _tiny("transformer", 2, 1, 28).eval()
    x = _input(2, 1, 28)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        logits = model(x)
    maps = model.attention_maps(x)
    assert not any(m.requires_grad for m in maps)
    with torch.no_grad():
        assert torch.equal(model(x), logits)
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_transformer_rejects_img_size_not_multiple_of_patch():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        create_model("transformer", 2, 1, 30, patch_size=4)


# --------------------------------------------------------------------------- rnn input checks
@pytest.mark.parametrize("h,w", [(32, 32), (28, 32), (32, 28)])
def test_rnn_rejects_wrong_input_size_with_clear_error(h, w):
    model = _tiny("rnn", 2, 1, 28).eval()
    with pytest.raises(ValueError, match=r"1x28x28.*got " + f"1x{h}x{w}"):
        model(torch.zeros(1, 1, h, w))


def test_rnn_rejects_wrong_channel_count_with_clear_error():
    model = _tiny("rnn", 2, 1, 28).eval()
    with pytest.raises(ValueError, match=r"1x28x28.*got 3x28x28"):
        model(torch.zeros(1, 3, 28, 28))
