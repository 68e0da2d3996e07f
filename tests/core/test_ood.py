"""Out-of-distribution refusal: the detector's maths (feature-only and with input statistics and the
modality check), its card round trip, old cards scoring as before, and the shipped models refusing
images from another modality while accepting their own."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import torch

from meddiag_desktop.core import ood
from meddiag_desktop.core.input_statistics import input_statistics
from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.preprocess import normalize
from meddiag_desktop.core.inference import Predictor, predict_files
from meddiag_desktop.core.paths import resource_path, shipped_weights_dir
from meddiag_desktop.core.scan_csv import csv_columns, csv_row
from meddiag_desktop.core.storage import read_card
from meddiag_desktop.core.model_store import ModelStore
from testkit import DICOM_DIR

SHIPPED = sorted(p.stem for p in shipped_weights_dir().glob("*.json"))
CHEST = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
BREAST = str(resource_path("samples", "breast_ultrasound_malignant_val0.png"))
CT = os.path.join(DICOM_DIR, "CT_small.dcm")


def _gaussian_classes(rng, n=400, d=24):
    labels = rng.integers(0, 2, n)
    features = rng.normal(size=(n, d)) * np.linspace(3, 0.2, d) + labels[:, None] * 2.0
    return features, labels


def test_detector_flags_about_one_percent_in_distribution_and_far_points():
    rng = np.random.default_rng(0)
    train, labels = _gaussian_classes(rng)
    val, _ = _gaussian_classes(rng, n=2000)
    detector = ood.fit_detector(train, labels, val, percentile=99.0, k=8)
    assert 0.005 <= (detector.ratio(val) > 1).mean() <= 0.015
    fresh, _ = _gaussian_classes(rng, n=2000)
    assert (detector.ratio(fresh) > 1).mean() < 0.03
    shifted = fresh + 6.0 * rng.normal(size=fresh.shape[1])  # a different distribution
    assert (detector.ratio(shifted) > 1).mean() > 0.95
    assert ood.auroc(detector, val, shifted) > 0.99
    assert abs(ood.auroc(detector, val, fresh) - 0.5) < 0.05


def test_low_variance_directions_count():
    """An outlier along a direction the training data never varies in must score high even though
    its Euclidean distance is small: that is what Mahalanobis adds over plain distance."""
    rng = np.random.default_rng(1)
    train = rng.normal(size=(500, 6)) * np.array([5, 5, 5, 5, 5, 0.01])
    detector = ood.fit_detector(train, np.zeros(500, int), train, k=5)  # the flat direction is the residual
    sideways = np.zeros((1, 6))
    sideways[0, 5] = 0.5
    along = np.zeros((1, 6))
    along[0, 0] = 5.0
    assert detector.ratio(sideways)[0] > 5 > detector.ratio(along)[0]


def test_card_round_trip_keeps_scores():
    rng = np.random.default_rng(2)
    train, labels = _gaussian_classes(rng)
    detector = ood.fit_detector(train, labels, train)
    restored = ood.OODDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    np.testing.assert_allclose(restored.score(train), detector.score(train), rtol=1e-4)
    with pytest.raises(ValueError, match="unknown OOD method"):
        ood.OODDetector.from_dict({**detector.to_dict(), "method": "magic"})


def test_input_statistics_read_the_image_not_its_normalisation():
    images = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    stats = [input_statistics(normalize(images, c), c.mean, c.std) for c in
             (ModelConfig("cnn", "t", ("a", "b"), mean=(0.3,), std=(0.2,)),
              ModelConfig("cnn", "t", ("a", "b"), mean=(0.6,), std=(0.1,)))]
    assert stats[0].shape == (5, 85) and np.allclose(stats[0], stats[1], atol=1e-5)
    assert np.allclose(stats[0][:, -16:].sum(1), 1.0)  # the intensity histogram
    flat = input_statistics(torch.full((1, 1, 28, 28), 0.5), (0.0,), (1.0,))
    assert np.allclose(flat[0, :20], 0) and flat[0, -16:].argmax() == 8  # no texture, one intensity bin
    assert input_statistics(torch.zeros(0, 1, 28, 28), (0.0,), (1.0,)).shape == (0, 85)


def _extended(rng, n=600):
    """Features and input statistics of a training set, and another task's statistics."""
    features, labels = _gaussian_classes(rng, n)
    statistics = rng.normal(size=(n, 10)) * np.linspace(2, 0.5, 10)
    other = statistics[:300] + 8.0  # another modality: shifted in every statistic
    return features, labels, statistics, other


def test_input_statistics_and_modality_check_refuse_what_the_features_miss():
    rng = np.random.default_rng(3)
    features, labels, statistics, other = _extended(rng)
    val_f, _, val_s, _ = _extended(rng, 2000)
    detector = ood.fit_detector(features, labels, val_f, statistics=statistics, val_statistics=val_s,
                                other=("other task", other))
    assert detector.uses_inputs and detector.modality is not None and detector.modality.other == "other task"
    assert 0.005 <= (detector.ratio(val_f, val_s) > 1).mean() <= 0.015  # still ~1 % of genuine images
    # the modality check: ~0 at the training images' median, 1 halfway to the other task's mean
    assert abs(np.median(detector.modality.score(statistics))) < 0.05
    assert detector.modality.score(((statistics.mean(0) + other.mean(0)) / 2)[None])[0] == pytest.approx(1.0)
    fresh_f, _, fresh_s, _ = _extended(rng, 500)
    assert (detector.ratio(fresh_f, fresh_s + 8.0) > 1).mean() == 1.0  # ordinary features, another modality
    odd = fresh_s.copy()
    odd[:, -1] += 20.0  # a statistic the training images never vary in this much, not towards the other task
    assert (detector.ratio(fresh_f, odd) > 1).mean() > 0.95
    assert (detector.ratio(fresh_f + 6.0 * rng.normal(size=fresh_f.shape[1]), fresh_s) > 1).mean() > 0.95
    with pytest.raises(ValueError, match="input statistics"):
        detector.score(fresh_f)
    # the card round trip keeps every part
    restored = ood.OODDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    assert detector.to_dict()["method"] == ood.METHOD_WITH_INPUTS
    np.testing.assert_allclose(restored.score(fresh_f, odd), detector.score(fresh_f, odd), rtol=1e-4)


def test_a_feature_only_card_scores_as_before():
    """Cards from before the input statistics (method ``mahalanobis-ppca``, no new keys) score the
    features alone, and their dict is written back unchanged."""
    rng = np.random.default_rng(4)
    features, labels, statistics, other = _extended(rng)
    extended = ood.fit_detector(features, labels, features, statistics=statistics, val_statistics=statistics,
                                other=("other task", other))
    old = ood.fit_detector(features, labels, features)
    card = json.loads(json.dumps(old.to_dict()))
    assert card["method"] == ood.METHOD and "input_statistics" not in card and "scales" not in card
    restored = ood.OODDetector.from_dict(card)
    assert not restored.uses_inputs and json.loads(json.dumps(restored.to_dict())) == card
    np.testing.assert_allclose(restored.score(features), extended.features.distance(features), rtol=1e-4)
    np.testing.assert_allclose(restored.ratio(features, statistics), restored.ratio(features))  # statistics unused


def _pydicom_kinds(detector) -> list[str]:
    return [name for name in detector.flagged if name.startswith("pydicom ") and name != ood.PYDICOM_SET]


@pytest.mark.parametrize("model_id", SHIPPED)
def test_every_shipped_card_reports_its_detector(model_id):
    card = read_card(shipped_weights_dir() / f"{model_id}.json")
    detector = ood.OODDetector.from_dict(card.ood)
    other = "breastmnist validation" if card.task == "pneumonia" else "pneumoniamnist validation"
    # every model refuses the other shipped task's images and pydicom's CT, MR and colour photographs
    # (README, "Trust and safety"), and ~1 % of its own images (breast: nested out-of-fold)
    assert detector.uses_inputs and detector.modality is not None
    assert detector.auroc[other] > 0.99 and detector.flagged[other] >= 0.99
    assert {"pydicom CT", "pydicom MR", "pydicom RGB photograph"} <= set(_pydicom_kinds(detector))
    for kind in ("pydicom CT", "pydicom MR", "pydicom RGB photograph"):
        assert detector.flagged[kind] >= 0.99, kind
    cv = card.metrics.get("cross_validation")
    own = cv["ood"]["refused_in_distribution_nested"] if cv else detector.flagged["validation (in-distribution)"]
    assert own <= 0.015 and detector.flagged["validation (in-distribution)"] <= 0.015
    assert "pydicom test images (CT, MR, US, RGB)" in detector.auroc and "uniform noise" in detector.auroc


@pytest.fixture(scope="module")
def breast_predictors():
    return [Predictor(card, "cpu") for card in ModelStore().active_cards() if card.task == "breast"]


def test_breast_models_refuse_chest_xrays_and_ct_but_label_ultrasound(breast_predictors):
    chest_normal = str(resource_path("samples", "chest_xray_normal_val3.png"))
    results = list(predict_files([BREAST, CHEST, chest_normal, CT], breast_predictors))
    assert len(results) == 4 * len(breast_predictors) == 12
    for r in results:
        if r.path == BREAST:
            assert r.in_distribution is True and r.label is not None and 0 < r.ood_score <= 1
        else:
            assert r.refused and r.label is None and r.ood_score > 1, (r.model, r.path)


def test_a_feature_only_card_predicts_as_before(tmp_path):
    """An old card (feature-only detector) gives the Predictor the feature ratio alone."""
    card = read_card(shipped_weights_dir() / "breast-cnn.json")
    detector = ood.OODDetector.from_dict(card.ood)
    old = ood.OODDetector(detector.means, detector.components, detector.variances, detector.residual_variance,
                          threshold=detector.scales[0], auroc={}, flagged={})
    predictor = Predictor(card, "cpu")
    predictor.ood = ood.OODDetector.from_dict(json.loads(json.dumps(old.to_dict())))
    from meddiag_desktop.core.io import load_image

    batch = predictor.preprocess(load_image(CHEST).array)[None]
    _, ratio = predictor.forward(batch)
    features = predictor.model.forward_features(batch).detach().numpy()
    assert ratio[0] == pytest.approx(detector.features.distance(features)[0] / detector.scales[0], rel=1e-5)


@pytest.fixture(scope="module")
def pneumonia_predictors():
    store = ModelStore()
    return [Predictor(card, "cpu") for card in store.active_cards() if card.task == "pneumonia"]


def test_chest_model_refuses_ct_and_ultrasound_but_labels_chest_xrays(pneumonia_predictors):
    results = list(predict_files([CHEST, CT, BREAST], pneumonia_predictors))
    by_file = {path: [r for r in results if r.path == path] for path in (CHEST, CT, BREAST)}
    for r in by_file[CHEST]:
        assert r.in_distribution is True and r.label == "pneumonia" and 0 < r.ood_score <= 1
    for path in (CT, BREAST):
        for r in by_file[path]:
            assert r.refused and r.label is None and r.probability is None and r.ood_score > 1
            assert sum(r.probabilities.values()) == pytest.approx(1.0)  # shown for transparency only


def test_csv_marks_refused_rows(pneumonia_predictors, tmp_path):
    results = list(predict_files([CHEST, CT], pneumonia_predictors))
    out = tmp_path / "scan.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, csv_columns([p.card for p in pneumonia_predictors]))
        writer.writeheader()
        writer.writerows(csv_row(r) for r in results)
    rows = list(csv.DictReader(open(out)))
    ct_rows = [r for r in rows if r["path"] == CT]
    assert ct_rows and all(r["in_distribution"] == "no" and r["label"] == "" and float(r["ood_score"]) > 1
                           for r in ct_rows)
    assert all(r["in_distribution"] == "yes" and r["label"] for r in rows if r["path"] == CHEST)


@pytest.mark.parametrize("length", [1, 2, 10, 144, 182, 676, 756, 4095])
def test_upper_quantile_is_torch_quantile_to_float_rounding(length):
    from meddiag_desktop.core.input_statistics import upper_quantile

    generator = torch.Generator().manual_seed(length)
    rows = [torch.rand(16, length, generator=generator), torch.rand(16, length, generator=generator) ** 8,
            torch.randint(0, 5, (16, length), generator=generator).float() / 7, torch.zeros(16, length)]
    for values in rows:  # uniform, skewed, ties, constant
        for q in (0.5, 0.9, 0.99):
            expected = torch.quantile(values, q, dim=1)
            assert torch.allclose(upper_quantile(values, q), expected, rtol=1e-6, atol=1e-7)
