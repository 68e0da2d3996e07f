"""The cross-validated figures of a seed ensemble from its members' out-of-fold predictions (issue 15).

Each input is one member's 5-fold CV on the SAME folds (``cv_recipes.py --seed i --fold-seed 0 --save-oof``,
or a cross-validated card, whose stored out-of-fold logits are the seed-0 member's): every image's
members never saw it, so the mean of their raw logits is the ensemble's out-of-fold prediction, as a
``SeedEnsemble`` (``core.models.ensemble``) computes it. Calibration, threshold, CIs and the nested check
are fitted on it exactly as ``core.cross_validation`` does. Prints one JSON line per threshold rule.

    python scripts/cv_ensemble.py weights/breast-cnn.json runs/seed1.npz runs/seed2.npz --rule youden --rule cost:1.5
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from meddiag_desktop.core.cross_validation import nested_check, stratified_folds
from meddiag_desktop.core.pipeline import calibrate, describe, positive_index, prior_correction
from meddiag_desktop.core.tasks import TASKS


def member_logits(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Out-of-fold logits, labels and, where stored, the scanner-shifted copies' logits and the folds."""
    if path.endswith(".json"):
        stored = json.load(open(path))["training"]["cross_validation"]["out_of_fold"]
        folds = np.asarray(stored["fold_ids"]) if "fold_ids" in stored else None
        return np.asarray(stored["logits"]), np.asarray(stored["labels"]), None, folds
    with np.load(path) as archive:
        shifted = archive["shifted_logits"] if "shifted_logits" in archive.files else None
        folds = archive["fold_ids"] if "fold_ids" in archive.files else None
        return archive["logits"], archive["labels"], shifted, folds


def figures(logits, labels, fold_ids, positive, bias, rule, target, n_boot, shifted_logits=None) -> dict:
    cal = calibrate(logits, labels, positive, rule, target, bias)
    r = describe(logits, labels, positive, cal, n_boot)
    nested = nested_check(logits, labels, fold_ids, positive, rule, target, bias)
    ci = lambda k: [round(r[k]["ci_low"], 3), round(r[k]["ci_high"], 3)]  # noqa: E731
    shifted = {}
    if shifted_logits is not None:  # the clean out-of-fold calibration and threshold, applied to the shifted copies
        s = describe(shifted_logits, labels, positive, cal, 0)
        shifted = {"shifted_acc": round(s["accuracy"]["value"], 4), "shifted_auc": round(s["auc"]["value"], 4),
                   "shifted_sens": round(s["sensitivity"]["value"], 3),
                   "shifted_spec": round(s["specificity"]["value"], 3)}
    return {"rule": cal.rule, "threshold": round(cal.threshold, 4), **shifted,
            "acc": round(r["accuracy"]["value"], 4), "acc_ci": ci("accuracy"),
            "auc": round(r["auc"]["value"], 4), "auc_ci": ci("auc"),
            "sens": round(r["sensitivity"]["value"], 3), "sens_ci": ci("sensitivity"),
            "spec": round(r["specificity"]["value"], 3), "spec_ci": ci("specificity"), "ece": round(r["ece"], 4),
            "nested": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in nested.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("members", nargs="+", help="out-of-fold .npz files or cross-validated cards (same folds)")
    parser.add_argument("--task", default="breast")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--rule", action="append", help="youden | sensitivity:T | specificity:T | cost:R")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--name", default="")
    args = parser.parse_args(argv)
    loaded = [member_logits(p) for p in args.members]
    labels = loaded[0][1]
    if any(not np.array_equal(labels, other) for _, other, _, _ in loaded):
        raise SystemExit("the members were not cross-validated on the same images in the same order")
    stored_folds = [folds for *_, folds in loaded if folds is not None]
    if any(not np.array_equal(stored_folds[0], other) for other in stored_folds):
        raise SystemExit("the members were not cross-validated on the same folds")
    logits = np.mean([lg for lg, *_ in loaded], axis=0)
    shifted = (np.mean([sh for _, _, sh, _ in loaded], axis=0) if all(sh is not None for _, _, sh, _ in loaded)
               else None)
    spec = TASKS[args.task]
    positive = positive_index(spec.labels, args.task)
    # the members' own folds; files from before near-duplicate grouping were dealt by stratified_folds
    fold_ids = stored_folds[0] if stored_folds else stratified_folds(labels, args.folds, args.fold_seed)
    bias = prior_correction(np.bincount(labels, minlength=len(spec.labels)))
    for text in args.rule or ["youden"]:
        rule, _, target = text.partition(":")
        print(json.dumps({"name": args.name, "members": args.members, "n": len(labels),
                          **figures(logits, labels, fold_ids, positive, bias, rule, float(target) if target else None,
                                    args.n_boot, shifted)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
