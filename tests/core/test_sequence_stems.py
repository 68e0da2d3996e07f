"""The convolutional stem options of the sequence families (``stem`` for the RNN and the Transformer,
``columns`` and ``positions`` for the RNN): shapes, gradients, that the defaults stay today's models (old cards load),
what the sequence model reads, and that explain's methods still localise on a tiny trained variant."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from meddiag_desktop.core.explain import available_methods, explain
from meddiag_desktop.core.models import ModelConfig, create_model
from meddiag_desktop.core.models.stem import conv_stem, stem_output

from testkit import assert_close

SIZE = 28
VARIANTS = {
    "rnn-stem": ("rnn", {"hidden": 8, "embed": 8, "stem": [4, 8]}),
    "rnn-stem-columns": ("rnn", {"hidden": 8, "embed": 8, "stem": [4], "columns": True}),
    "rnn-columns": ("rnn", {"hidden": 8, "embed": 8, "columns": True}),
    "rnn-stem-positions": ("rnn", {"hidden": 8, "embed": 8, "stem": [4, 8], "positions": True}),
    "rnn-stem-positions-columns": ("rnn", {"hidden": 8, "embed": 8, "stem": [4], "positions": True, "columns": True}),
    "transformer-stem": ("transformer", {"d_model": 16, "heads": 2, "depth": 2, "patch_size": 1, "stem": [4, 8]}),
    "transformer-stem-patch2": ("transformer", {"d_model": 16, "heads": 2, "depth": 2, "patch_size": 2,
                                                "stem": [4]}),
    # a wavelet scattering front end (core.models.scattering) in place of the conv stem: 7x7 cells of 8 channels
    "rnn-scattering": ("rnn", {"hidden": 8, "embed": 8, "stem": [8], "scattering": 2}),
    "transformer-scattering": ("transformer", {"d_model": 16, "heads": 2, "depth": 2, "patch_size": 1, "stem": [8],
                                               "scattering": 2}),
}


def _model(name: str, num_classes: int = 2, img_size: int = SIZE, seed: int = 0) -> torch.nn.Module:
    arch, kwargs = VARIANTS[name]
    torch.manual_seed(seed)
    return create_model(arch, num_classes, 1, img_size, **kwargs)


def _input(n: int, img_size: int = SIZE, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, img_size, img_size, generator=torch.Generator().manual_seed(seed))


def test_stem_halves_the_side_per_stage_and_rejects_odd_sides():
    stem = conv_stem(1, (4, 8))
    assert stem(torch.zeros(2, 1, 28, 28)).shape == (2, 8, 7, 7)
    assert stem_output(1, 28, (4, 8)) == (8, 7) and stem_output(3, 28, ()) == (3, 28)
    assert len(conv_stem(1, ())) == 0
    with pytest.raises(ValueError, match="does not divide"):
        stem_output(1, 28, (4, 8, 16))
    with pytest.raises(ValueError, match="multiple of patch_size"):
        create_model("transformer", 2, 1, 28, stem=[4, 8], patch_size=2)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variants_give_logits_features_and_gradients_everywhere(name):
    model = _model(name, 3).train()
    x = _input(3)
    loss = F.cross_entropy(model(x), torch.tensor([0, 1, 2]))
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient reaches {missing}"
    model.eval()
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (3, model.num_features)
        assert_close(model.head(feats), model(x), 1e-6)
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("arch", ["rnn", "transformer"])
def test_defaults_are_todays_models_so_old_cards_load(arch):
    torch.manual_seed(0)
    default = create_model(arch, 2)
    torch.manual_seed(0)
    explicit = create_model(arch, 2, stem=[])
    keys = set(default.state_dict())
    assert not any(k.startswith(("stem.", "column_")) for k in keys)
    assert keys == set(explicit.state_dict())
    for key, value in default.state_dict().items():  # same initialisation draw for draw
        assert torch.equal(value, explicit.state_dict()[key]), key
    with pytest.raises(RuntimeError, match="stem"):  # a stem model cannot pass for a stemless one
        create_model(arch, 2, stem=[4], **({"patch_size": 2} if arch == "transformer" else {})).load_state_dict(
            default.state_dict())


def _sequence_inputs(model: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    seen: dict[str, tuple[int, ...]] = {}

    def recorder(name: str):
        def record(_module, args) -> None:
            seen[name] = tuple(args[0].shape)
        return record

    hooks = [module.register_forward_pre_hook(recorder(name))
             for name, module in model.named_children() if isinstance(module, torch.nn.LSTM)]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def test_rnn_reads_the_stem_maps_rows_and_optionally_its_columns():
    x = _input(2)
    assert _sequence_inputs(_model("rnn-stem"), x) == {"lstm": (2, 7, 8)}  # 7 rows of the 8 x 7 x 7 map
    assert _sequence_inputs(_model("rnn-stem-columns"), x) == {"lstm": (2, 14, 8), "column_lstm": (2, 14, 8)}
    assert _model("rnn-stem-columns").num_features == 2 * _model("rnn-stem").num_features
    # cell by cell: 49 steps of one cell's 8 channels; with columns 14 x 14 cells each way
    assert _sequence_inputs(_model("rnn-stem-positions"), x) == {"lstm": (2, 49, 8)}
    assert _sequence_inputs(_model("rnn-stem-positions-columns"), x) == {"lstm": (2, 196, 8),
                                                                         "column_lstm": (2, 196, 8)}


def test_position_reading_walks_the_cells_in_raster_order_with_one_embedding_for_all():
    model = _model("rnn-stem-positions-columns").eval()
    maps = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)  # N=2, C=3, H=2, W=4
    steps = model.sequence(maps)
    assert steps.shape == (2, 8, 3)
    for t in range(8):  # step t is cell (t // W, t % W), its C channels
        assert torch.equal(steps[:, t], maps[:, :, t // 4, t % 4])
    assert torch.equal(model.sequence(maps.transpose(2, 3))[:, 1], maps[:, :, 1, 0])  # column-major: down first
    assert model.embed[0].in_features == 4  # one cell's channels, whatever the cell


def test_column_reading_sees_what_rows_see_transposed():
    """Without a stem, the column LSTM of an image is the row LSTM of its transpose when the weights match."""
    model = _model("rnn-columns").eval()
    model.column_embed.load_state_dict(model.embed.state_dict())
    model.column_lstm.load_state_dict(model.lstm.state_dict())
    x = _input(2)
    with torch.no_grad():
        feats, feats_t = model.forward_features(x), model.forward_features(x.transpose(2, 3))
    half = model.num_features // 2
    assert_close(feats[:, :half], feats_t[:, half:], 1e-5)
    assert_close(feats[:, half:], feats_t[:, :half], 1e-5)


def test_transformer_tokens_are_the_stem_maps_cells():
    model = _model("transformer-stem").eval()
    maps = model.attention_maps(_input(3))
    assert len(maps) == 2
    for m in maps:
        assert m.shape == (3, 1 + 7 * 7, 1 + 7 * 7)
        assert_close(m.sum(-1), torch.ones(3, 50), 1e-5)
    assert _model("transformer-stem-patch2").attention_maps(_input(1))[0].shape == (1, 50, 50)


# --------------------------------------------------------------------------- explain on trained variants
def _square_image(top: int, left: int, seed: int = 5) -> np.ndarray:
    image = np.random.default_rng(seed).uniform(0.0, 0.4, size=(SIZE, SIZE)).astype(np.float32)
    image[top : top + 6, left : left + 6] = 1.0
    return image


def _batch(rng: np.random.Generator, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    labels = rng.integers(0, 2, n)
    images = rng.uniform(0.0, 0.4, size=(n, SIZE, SIZE)).astype(np.float32)
    for i in np.flatnonzero(labels):
        top, left = rng.integers(0, SIZE - 5, 2)
        images[i, top : top + 6, left : left + 6] = 1.0
    return torch.from_numpy((images - 0.5) / 0.25)[:, None], torch.from_numpy(labels)


def _train(name: str, steps: int, lr: float) -> torch.nn.Module:
    """A variant trained briefly on 28 px noise where class 1 has a bright 6x6 square (not to saturation:
    occlusion measures probability drops)."""
    model, rng = _model(name), np.random.default_rng(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        x, y = _batch(rng)
        loss = F.cross_entropy(model.train()(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


TRAINING = {"rnn-stem": (25, 5e-3), "rnn-stem-columns": (40, 5e-3), "rnn-stem-positions": (40, 5e-3),
            "transformer-stem": (25, 3e-3)}  # (steps, lr)


@pytest.fixture(scope="module")
def trained():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield {name: _train(name, *TRAINING[name]) for name in TRAINING}
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", list(TRAINING))
def test_explain_methods_follow_the_square_on_stem_variants(trained, name):
    arch, kwargs = VARIANTS[name]
    config = ModelConfig(arch=arch, task="toy", labels=("clear", "square"), img_size=SIZE, arch_kwargs=kwargs)
    x, y = _batch(np.random.default_rng(9), 100)
    with torch.no_grad():
        assert (trained[name](x).argmax(1) == y).float().mean() >= 0.8  # it learned the square
    for method in available_methods(arch):
        maps = [explain(trained[name], config, _square_image(t, t), method=method, target=1).heatmap
                for t in (2, 20)]
        for heat, quadrant in zip(maps, (0, 1)):
            assert heat.shape == (SIZE, SIZE) and heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
            r, c = np.unravel_index(heat.argmax(), heat.shape)
            assert (r >= SIZE // 2) == quadrant and (c >= SIZE // 2) == quadrant, f"{method}: argmax at {(r, c)}"
