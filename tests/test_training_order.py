"""scripts/train_shipped.py hands the models to its worker processes in the order that finishes first:
longest first can leave one core idle while the other trains the last long model."""
from __future__ import annotations

import sys
from itertools import permutations
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from train_shipped import finish_time, training_order  # noqa: E402

# the six models' expected minutes (session 18's measured costs x runs)
SIX = {"breast-cnn": 30.6, "breast-rnn": 29.4, "breast-transformer": 10.2, "pneumonia-transformer": 8.5,
       "pneumonia-cnn": 5.9, "pneumonia-rnn": 2.7}


def test_finish_time_follows_the_first_free_worker():
    assert finish_time(("a", "b", "c"), {"a": 5, "b": 3, "c": 3}, 2) == 6  # c goes to b's worker, free at 3
    assert finish_time(("a", "b", "c"), {"a": 5, "b": 3, "c": 3}, 1) == 11
    assert finish_time(("a", "b", "c"), {"a": 5, "b": 3, "c": 3}, 3) == 5


def test_the_order_beats_longest_first_where_that_leaves_a_core_idle():
    longest_first = tuple(sorted(SIX, key=lambda m: -SIX[m]))
    order = training_order(SIX, 2)
    assert sorted(order) == sorted(SIX)
    best = min(finish_time(p, SIX, 2) for p in permutations(SIX))
    assert finish_time(tuple(order), SIX, 2) == pytest.approx(best)
    assert best < finish_time(longest_first, SIX, 2) - 1.0


def test_ties_and_large_sets_keep_longest_first():
    assert training_order(SIX, 1) == sorted(SIX, key=lambda m: -SIX[m])  # one worker: every order ties
    many = {f"m{i}": float(i) for i in range(10)}
    assert training_order(many, 2) == [f"m{i}" for i in range(9, -1, -1)]
