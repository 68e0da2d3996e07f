"""The card's sentence on how a CRNN's members read the stem map (scripts/train_shipped.py ``lstm_steps``)
follows the recipe: steps and LSTM layers per kind of member."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from train_shipped import RECIPES, lstm_steps, model_description  # noqa: E402


def test_row_readers_alone():
    assert lstm_steps({"stem": [32, 64]}, 7) == "row by row (7 steps, 2 LSTM layers)"


def test_mixed_members_name_the_cell_readers_and_their_layers():
    kwargs = {"stem": [32, 64], "members": 3, "variants": [{"positions": True, "layers": 1}, {"scattering": 2}]}
    assert lstm_steps(kwargs, 7) == ("cell by cell in raster order (49 steps, 1 LSTM layer) in members 0, 2, "
                                     "row by row (7 steps, 2 LSTM layers) in the other")


def test_every_member_a_cell_reader():
    kwargs = {"stem": [32], "members": 2, "variants": [{"positions": True}]}
    assert lstm_steps(kwargs, 14) == "cell by cell in raster order (196 steps, 2 LSTM layers)"


def test_the_shipped_breast_rnn_card_says_how_its_members_read():
    text = model_description("breast-rnn", 5)
    arch_kwargs = RECIPES["breast-rnn"]["arch_kwargs"]
    assert "5-fold cross-validated" in text
    assert lstm_steps(arch_kwargs, 7) in text
