"""The review queue's rules (core.review): the "score" rule (uncertainty at the operating threshold,
disagreement, near-OOD, refused images, ties, a single family, near-duplicates), the default "boundary"
rule (tests/core/test_review_boundary.py has more), the random share; the queue CSV and the
CSV-injection guard (core.csv_cells)."""
from __future__ import annotations

import csv
import random

import numpy as np
import pytest
from PIL import Image

from meddiag_desktop.core.csv_cells import neutralize, safe_path, safe_row
from meddiag_desktop.core.review.features import PixelFeatures
from meddiag_desktop.core.review.queue import build_queue, diversify
from meddiag_desktop.core.review.queue_csv import read_queue_csv, write_queue_csv
from meddiag_desktop.core.review.ranking import ModelRule, QueueError, ScanRow, model_rules, score_images
from testkit import StubFeatures, save_demo_models

FAMILIES = ("cnn", "rnn", "transformer")
RULES = {f"t-{f}": ModelRule(f"t-{f}", "t", ("normal", "abnormal"), "abnormal", 0.7) for f in FAMILIES}


def rows_for(path, ps, ood=(None, None, None), families=FAMILIES):
    """One image's rows: P(abnormal) per family, OOD ratio per family (> 1: refused)."""
    return [ScanRow(path, f"t-{f}", "ok", {"normal": 1 - p, "abnormal": p}, r, None if r is None else r <= 1.0)
            for f, p, r in zip(families, ps, ood)]


def queue_paths(rows, budget, **kw):
    kw.setdefault("random_share", 0.0)
    kw.setdefault("rule", "score")
    kw.setdefault("diversity", False)
    return [(i.path, i.reason) for i in build_queue(rows, budget, rules=RULES, hash_files=False, **kw).items]


def test_uncertainty_is_closeness_to_each_models_threshold_not_to_one_half():
    rows = rows_for("a_at_threshold", [0.70] * 3) + rows_for("b_half", [0.5] * 3) + rows_for("c_sure", [0.99] * 3)
    assert queue_paths(rows, 3) == [("a_at_threshold", "uncertain"), ("b_half", "uncertain"),
                                    ("c_sure", "uncertain")]
    scores, _ = score_images(rows, RULES, "t")
    assert scores[0].uncertainty == 1.0 and scores[-1].uncertainty == pytest.approx(1 - 0.29 / 0.3, abs=1e-6)


def test_disagreement_between_families_ranks_first_and_says_so():
    rows = rows_for("agree", [0.6, 0.65, 0.68]) + rows_for("split", [0.2, 0.9, 0.95])
    assert queue_paths(rows, 2) == [("split", "disagreement"), ("agree", "uncertain")]


def test_a_single_family_has_no_disagreement_and_ranks_by_uncertainty():
    rows = [r for r in rows_for("x", [0.9] * 3) + rows_for("y", [0.72] * 3) + rows_for("z", [0.1] * 3)
            if r.model == "t-cnn"]
    queue = build_queue(rows, 3, rules=RULES, random_share=0.0, diversity=False, hash_files=False, rule="score")
    assert [i.path for i in queue.items] == ["y", "x", "z"]
    assert all(i.image.disagreement == 0 and i.reason == "uncertain" for i in queue.items)
    assert [m.model for m in queue.models] == ["t-cnn"]


def test_ties_break_by_path_whatever_the_input_order():
    rows = [r for name in ("d", "b", "c", "a") for r in rows_for(name, [0.8] * 3)]
    expected = [("a", "uncertain"), ("b", "uncertain"), ("c", "uncertain"), ("d", "uncertain")]
    for _ in range(3):
        random.Random(_).shuffle(rows)
        assert queue_paths(rows, 4) == expected


def test_near_ood_scores_count_on_both_sides_of_the_threshold():
    rows = (rows_for("edge_inside", [0.99] * 3, ood=(0.95, 0.5, 0.5))
            + rows_for("deep_inside", [0.99] * 3, ood=(0.4, 0.5, 0.5)))
    assert queue_paths(rows, 2)[0] == ("edge_inside", "near-OOD")


def test_refused_images_are_flagged_never_dropped_and_far_ones_sink():
    rows = (rows_for("ok_sure", [0.99] * 3, ood=(0.5, 0.5, 0.5))
            + rows_for("refused_far", [0.7] * 3, ood=(3.0, 3.0, 3.0))
            + rows_for("refused_edge", [0.99] * 3, ood=(1.05, 1.1, 1.02))
            + rows_for("refused_by_one", [0.99] * 3, ood=(1.5, 0.5, 0.5))
            + [ScanRow("unreadable", f"t-{f}", "error") for f in FAMILIES])
    queue = build_queue(rows, 10, rules=RULES, random_share=0.0, diversity=False, hash_files=False, rule="score")
    order = [(i.path, i.reason) for i in queue.items]
    assert order == [("refused_edge", "refused"), ("refused_by_one", "disagreement"), ("ok_sure", "uncertain"),
                     ("refused_far", "refused")]  # score o alone: 3.0 is far outside, 0 points
    assert queue.items[1].image.refused_by == ("t-cnn",)
    s = queue.summary
    assert (s.images, s.unreadable, s.refused, s.refused_in_queue) == (4, 1, 2, 2)
    assert "unreadable" in s.lines()[0] and "refused" in s.lines()[0]


def test_random_share_size_seed_stability_and_even_spread():
    rows = [r for i in range(60) for r in rows_for(f"img{i:02d}", [0.3 + i / 100] * 3)]
    first = build_queue(rows, 20, rules=RULES, seed=3, diversity=False, hash_files=False)
    again = build_queue(list(reversed(rows)), 20, rules=RULES, seed=3, diversity=False, hash_files=False)
    other = build_queue(rows, 20, rules=RULES, seed=4, diversity=False, hash_files=False)
    randoms = [i for i in first.items if i.random]
    assert len(first.items) == 20 and len(randoms) == 4 and first.summary.random == 4
    assert [i.rank for i in randoms] == [5, 10, 15, 20]
    assert [(i.path, i.reason) for i in first.items] == [(i.path, i.reason) for i in again.items]
    assert {i.path for i in randoms} != {i.path for i in other.items if i.random}
    assert len({i.path for i in first.items}) == 20  # no image twice
    assert len([i for i in build_queue(rows, 20, rules=RULES, random_share=0.5, diversity=False,
                                       hash_files=False).items if i.random]) == 10


def test_a_budget_larger_than_the_images_queues_them_all():
    rows = rows_for("a", [0.5] * 3) + rows_for("b", [0.9] * 3)
    assert len(build_queue(rows, 50, rules=RULES, diversity=False, hash_files=False).items) == 2
    with pytest.raises(QueueError):
        build_queue(rows, 0, rules=RULES)


def test_near_duplicates_are_pushed_apart():
    rows = (rows_for("a", [0.70] * 3) + rows_for("a_copy", [0.701] * 3) + rows_for("a_copy2", [0.702] * 3)
            + rows_for("b", [0.76] * 3) + rows_for("c", [0.80] * 3))
    features = StubFeatures({"a": [1, 0, 0], "a_copy": [1, 0, 0], "a_copy2": [0.999, 0.04, 0],
                             "b": [0, 1, 0], "c": [0, 0, 1]})
    plain = queue_paths(rows, 3)
    diverse = queue_paths(rows, 3, features=features, diversity=True)
    assert [p for p, _ in plain] == ["a", "a_copy", "a_copy2"]
    assert [p for p, _ in diverse] == ["a", "b", "c"]


def test_diversify_without_features_keeps_the_score_order():
    rows = rows_for("a", [0.7] * 3) + rows_for("b", [0.8] * 3)
    scores, _ = score_images(rows, RULES, "t")
    assert [s.path for s in diversify(scores, 2, StubFeatures({}))] == ["a", "b"]


def test_pixel_features_find_duplicate_files(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (32, 32), dtype=np.uint8)
    Image.fromarray(base).save(tmp_path / "a.png")
    Image.fromarray((base * 0.8).astype(np.uint8)).save(tmp_path / "a_darker.png")  # a copy, other contrast
    Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(tmp_path / "b.png")
    vectors = PixelFeatures()([str(tmp_path / n) for n in ("a.png", "a_darker.png", "b.png", "missing.png")])
    assert len(vectors) == 3
    a, a2, b = (vectors[str(tmp_path / n)] for n in ("a.png", "a_darker.png", "b.png"))
    assert np.linalg.norm(a - a2) < 0.05 < 0.5 < np.linalg.norm(a - b)


def test_thresholds_come_from_the_model_cards(tmp_path):
    save_demo_models(tmp_path, archs=("cnn", "rnn"), threshold=0.3, positive_label="abnormal")
    rows = [ScanRow("x", "demo-cnn", "ok", {"normal": 0.6, "abnormal": 0.4}),
            ScanRow("x", "unknown-model", "ok", {"a": 0.5, "b": 0.5})]
    from meddiag_desktop.core.model_store import ModelStore

    rules = model_rules(rows, ModelStore([tmp_path]))
    assert rules["demo-cnn"] == ModelRule("demo-cnn", "demo", ("normal", "abnormal"), "abnormal", 0.3)
    assert rules["unknown-model"].threshold is None and rules["unknown-model"].uncertainty({"a": .5, "b": .5}) == 1
    assert rules["demo-cnn"].decision({"normal": 0.6, "abnormal": 0.4}) == "abnormal"


def test_several_tasks_pick_the_one_whose_models_accept_most():
    rules = dict(RULES, other=ModelRule("other", "u", ("x", "y")))
    rows = rows_for("a", [0.5] * 3) + [ScanRow("a", "other", "ok", {"x": .5, "y": .5}, 2.0, False)]
    assert build_queue(rows, 1, rules=rules, hash_files=False).summary.task == "t"
    assert build_queue(rows, 1, rules=rules, task="u", hash_files=False).items[0].reason == "refused"


# ---------------------------------------------------------------- CSV
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(start):
    assert neutralize(start + "cmd|' /C calc'!A0") == "'" + start + "cmd|' /C calc'!A0"
    assert safe_path(start + "x.png") == "./" + start + "x.png"
    assert safe_row({"path": "/abs/=x", "p": "-0.5", "r": "-0.5"}, numbers=("p",)) == \
        {"path": "/abs/=x", "p": "-0.5", "r": "'-0.5"}
    assert neutralize("normal") == "normal" and neutralize(None) == ""


def test_queue_csv_round_trip_and_neutralised_cells(tmp_path):
    rules = {"=evil": ModelRule("=evil", "t", ("normal", "@abnormal"), "@abnormal", 0.5)}
    rows = [ScanRow("-rel.png", "=evil", "ok", {"normal": 0.4, "@abnormal": 0.6}, 0.5, True, "ab" * 32),
            ScanRow("/abs/b.png", "=evil", "ok", {"normal": 0.9, "@abnormal": 0.1}, 0.5, True, "cd" * 32)]
    queue = build_queue(rows, 2, rules=rules, random_share=0.5, diversity=False)
    out = tmp_path / "q.csv"
    write_queue_csv(queue, out)
    with open(out, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header, *body = list(reader)
    assert header == ["rank", "path", "reason", "score", "'=evil:p_@abnormal", "refused_by", "sha256"]
    assert {r[1] for r in body} == {"./-rel.png", "/abs/b.png"}
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in body for cell in row)
    entries = read_queue_csv(out)
    assert [e.rank for e in entries] == [1, 2] and {e.sha256 for e in entries} == {"ab" * 32, "cd" * 32}
    assert sum(e.random for e in entries) == 1


def test_the_task_is_the_one_the_images_belong_to_not_the_one_that_accepts_most():
    """A chest scan run with both tasks' models: the breast models accept more (image, model) pairs
    (their detectors are loose on chest X-rays) but find every image less typical than the chest models."""
    from meddiag_desktop.core.review.ranking import ModelRule, ScanRow, choose_task

    rules = {f"{task}-{arch}": ModelRule(f"{task}-{arch}", task, ("a", "b"), "b", 0.5)
             for task in ("breast", "pneumonia") for arch in ("cnn", "rnn")}
    rows = []
    for i in range(5):
        rows += [ScanRow(f"x{i}.png", "pneumonia-cnn", "ok", ood_score=1.2, in_distribution=False),  # shifted
                 ScanRow(f"x{i}.png", "pneumonia-rnn", "ok", ood_score=0.6, in_distribution=True),
                 ScanRow(f"x{i}.png", "breast-cnn", "ok", ood_score=0.95, in_distribution=True),
                 ScanRow(f"x{i}.png", "breast-rnn", "ok", ood_score=0.9, in_distribution=True)]
    assert choose_task(rows, rules) == "pneumonia"  # 5 votes; accepted pairs would say breast (10 vs 5)
    rows.append(ScanRow("us.png", "breast-cnn", "ok", ood_score=0.3, in_distribution=True))
    assert choose_task(rows, rules) == "pneumonia"
    no_scores = [ScanRow("y.png", "breast-cnn", "ok", in_distribution=True),
                 ScanRow("y.png", "pneumonia-cnn", "error")]
    assert choose_task(no_scores, rules) == "breast"  # no detector: counted at its threshold; an error: no vote
