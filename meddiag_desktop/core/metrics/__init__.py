"""Evaluation metrics for classifiers, numpy only; every function is pure.

* :mod:`.classification`: predicted labels, confusion matrices, ROC / AUC, reports;
* :mod:`.bootstrap`: bootstrap confidence intervals;
* :mod:`.calibration`: reliability curves, ECE, temperature and Platt scaling;
* :mod:`.operating_points`: binary thresholds (Youden, target sensitivity / specificity);
* :mod:`.inputs`: the input checks they share.

Conventions used throughout:

* ``y_true`` is an int array (N,) of class indices in ``[0, K)``.
* ``probs`` is a float array (N, K), K >= 2, of class probabilities (rows are
  not required to sum to 1).  ``logits`` (N, K) where stated.
* Binary tasks have K == 2 and take ``positive=`` (default 1): the index of the
  clinically positive class (e.g. 0 for "malignant" in the breast task).
  ``scores`` for binary functions are the scores of the positive class
  (usually ``probs[:, positive]``); higher means "more positive".
* A sample is predicted positive when ``score >= threshold`` (inclusive).
* A ratio whose denominator is 0 (e.g. precision with no positive predictions)
  is reported as 0.0, like scikit-learn's ``zero_division=0``; an undefined AUC
  (only one class present) is nan.
"""

from .bootstrap import BINARY_CI_METRICS, bootstrap_ci, metrics_with_ci
from .calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_platt,
    fit_temperature,
    log_softmax,
    nll,
    reliability_curve,
    softmax,
)
from .classification import (
    DEFAULT_THRESHOLD,
    classification_report,
    confusion_matrix,
    predict_labels,
    roc_auc,
    roc_auc_ovr,
    roc_curve,
    to_jsonable,
)
from .operating_points import rule_from_name, rule_name, threshold_for_sensitivity, threshold_for_specificity, threshold_youden

__all__ = [
    "BINARY_CI_METRICS",
    "DEFAULT_THRESHOLD",
    "apply_temperature",
    "bootstrap_ci",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "fit_platt",
    "fit_temperature",
    "log_softmax",
    "metrics_with_ci",
    "nll",
    "predict_labels",
    "reliability_curve",
    "roc_auc",
    "roc_auc_ovr",
    "roc_curve",
    "rule_from_name",
    "rule_name",
    "softmax",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_youden",
    "to_jsonable",
]
