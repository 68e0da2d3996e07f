"""The review queue's default rule, "boundary" (core.review.boundary): picks spread along the clinic's own
decision boundary, placed by the share of negatives in the cards' validation data, whatever the cards'
thresholds say under a shift; seeded, near-duplicates avoided, refused images last, a task without a
binary model falls back to the "score" rule."""
from __future__ import annotations

import numpy as np
import pytest

from meddiag_desktop.core.review.boundary import BAND_HALF_WIDTH, boundary_picks, boundary_share
from meddiag_desktop.core.review.queue import build_queue
from meddiag_desktop.core.review.ranking import ModelRule, QueueError, ScanRow, score_images
from meddiag_desktop.core.storage import ModelCard
from testkit import StubFeatures

FAMILIES = ("cnn", "rnn", "transformer")


def rules(negative_share=0.25, threshold=0.7):
    return {f"t-{f}": ModelRule(f"t-{f}", "t", ("normal", "abnormal"), "abnormal", threshold, negative_share)
            for f in FAMILIES}


def rows_for(path, p, ood=None, spread=(0.0, 0.0, 0.0)):
    return [ScanRow(path, f"t-{f}", "ok", {"normal": 1 - p - s, "abnormal": p + s}, ood,
                    None if ood is None else ood <= 1.0) for f, s in zip(FAMILIES, spread)]


def clinic(n=40):
    """``n`` images whose P(abnormal) rises with the index, every one far below the cards' threshold
    0.7 (as under a darker scanner): the thresholds call all of them normal."""
    return [r for i in range(n) for r in rows_for(f"img{i:02d}", 0.05 + 0.4 * i / n)]


def test_the_band_lies_at_the_cards_share_of_negatives_not_at_their_threshold():
    queue = build_queue(clinic(40), 8, rules=rules(0.25), random_share=0.0, diversity=False, hash_files=False)
    ranks = sorted(int(i.path[3:]) for i in queue.items)
    lo, hi = int(40 * (0.25 - BAND_HALF_WIDTH)), int(np.ceil(40 * (0.25 + BAND_HALF_WIDTH)))
    assert len(ranks) == 8 and lo <= ranks[0] and ranks[-1] < hi  # ranks 4..15 of 40
    assert ranks[-1] - ranks[0] >= 8  # spread along the band, one per stratum
    assert {i.reason for i in queue.items} == {"boundary"} and queue.summary.rule == "boundary"
    assert abs(int(queue.items[0].path[3:]) + 0.5 - 10) <= 2  # closest to the boundary first
    score_rule = build_queue(clinic(40), 8, rules=rules(0.25), random_share=0.0, diversity=False,
                             hash_files=False, rule="score")
    assert sorted(int(i.path[3:]) for i in score_rule.items) == list(range(32, 40))  # nearest to 0.7


def test_boundary_share_from_the_cards_else_from_the_thresholds():
    scores, _ = score_images(clinic(40), rules(0.3), "t")
    assert boundary_share(scores, rules(0.3)) == pytest.approx(0.3)
    scores, _ = score_images(clinic(40), rules(None, threshold=0.25), "t")
    below = sum(0.05 + 0.4 * i / 40 < 0.25 for i in range(40)) / 40
    assert boundary_share(scores, rules(None, threshold=0.25)) == pytest.approx(below)


def test_negative_share_is_read_from_the_cards_validation_confusion_matrix():
    card = ModelCard.from_dict({"id": "m", "config": {"arch": "cnn", "task": "t", "labels": ["normal", "abnormal"]},
                                "threshold": 0.6, "positive_label": "abnormal",
                                "metrics": {"validation": {"confusion_matrix": [[30, 10], [5, 55]]}}})
    assert ModelRule.from_card(card).negative_share == pytest.approx(0.4)
    bare = ModelCard.from_dict({"id": "m", "config": {"arch": "cnn", "task": "t", "labels": ["a", "b", "c"]}})
    assert ModelRule.from_card(bare).negative_share is None


def test_seeded_whatever_the_row_order_and_the_random_share_stays():
    rows = clinic(60)
    first = build_queue(rows, 10, rules=rules(), seed=5, diversity=False, hash_files=False)
    again = build_queue(list(reversed(rows)), 10, rules=rules(), seed=5, diversity=False, hash_files=False)
    other = build_queue(rows, 10, rules=rules(), seed=6, diversity=False, hash_files=False)
    assert [(i.path, i.reason) for i in first.items] == [(i.path, i.reason) for i in again.items]
    assert [i.path for i in first.items] != [i.path for i in other.items]
    assert [i.rank for i in first.items if i.random] == [5, 10] and len({i.path for i in first.items}) == 10


def test_a_near_duplicate_of_a_pick_is_passed_over_when_its_stratum_has_another_image():
    rows = clinic(8)
    scores, _ = score_images(rows, rules(0.5), "t")
    vectors = {f"img{i:02d}": np.eye(8)[i] for i in range(8)}
    plain = {s.path for s in boundary_picks(scores, 2, rules(0.5), seed=0)}
    for seed in range(6):  # img03 and img04 (the two strata's images nearest the boundary) are copies
        vectors["img04"] = vectors["img03"]
        picks = [s.path for s in boundary_picks(scores, 2, rules(0.5), seed=seed, features=StubFeatures(vectors))]
        assert not {"img03", "img04"} <= set(picks) and len(picks) == 2
    assert len(plain) == 2


def test_refused_images_fill_last_and_disagreement_is_named():
    rows = (clinic(6) + rows_for("refused", 0.2, ood=2.0)
            + rows_for("split", 0.3, spread=(0.0, 0.5, 0.5)))
    queue = build_queue(rows, 8, rules=rules(0.5), random_share=0.0, diversity=False, hash_files=False)
    assert queue.items[-1].path == "refused" and queue.items[-1].reason == "refused"
    assert dict((i.path, i.reason) for i in queue.items)["split"] == "disagreement"
    assert len(build_queue(rows, 3, rules=rules(0.5), random_share=0.0, diversity=False,
                           hash_files=False).items) == 3
    assert "refused" not in {i.path for i in build_queue(rows, 7, rules=rules(0.5), random_share=0.0,
                                                         diversity=False, hash_files=False).items}


def test_a_task_without_binary_models_ranks_by_score():
    multi = {"m": ModelRule("m", "u", ("a", "b", "c"))}
    rows = [ScanRow(f"x{i}", "m", "ok", {"a": 0.2 + i / 10, "b": 0.5 - i / 10, "c": 0.3}) for i in range(4)]
    queue = build_queue(rows, 2, rules=multi, random_share=0.0, diversity=False, hash_files=False)
    assert queue.summary.rule == "score" and "'score' rule" in queue.summary.lines()[1]
    assert [i.reason for i in queue.items] == ["uncertain", "uncertain"]
    with pytest.raises(QueueError):
        build_queue(rows, 2, rules=multi, rule="nearest")


def test_an_image_no_binary_model_read_comes_last_without_error():
    mixed = dict(rules(0.5), m=ModelRule("m", "t", ("normal", "abnormal")))
    rows = clinic(4) + [ScanRow("only_multi", "m", "ok", {"normal": 0.5, "abnormal": 0.5})]
    queue = build_queue(rows, 5, rules=mixed, random_share=0.0, diversity=False, hash_files=False)
    assert queue.summary.rule == "boundary" and queue.items[-1].path == "only_multi"
