"""Cross-validated recipe experiments (issue 15): one recipe variant of a shipped model, K-fold CV on
train + val, no refit; prints one JSON line with the out-of-fold figures (ACC, AUC, ECE, refusal).

    python scripts/cv_recipes.py breast-cnn --name intensity --augment '{"gamma": 0.3, "blur": 0.8, "noise": 0.03}'
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_shipped import DATA_FILES, NORMALISATION, RECIPES, ROOT  # noqa: E402

from meddiag_desktop.core.cross_validation import cross_validate  # noqa: E402
from meddiag_desktop.core.data import load_npz  # noqa: E402
from meddiag_desktop.core.models import ModelConfig  # noqa: E402
from meddiag_desktop.core.storage import read_card  # noqa: E402
from meddiag_desktop.core.tasks import TASKS  # noqa: E402
from meddiag_desktop.core.training import TrainConfig  # noqa: E402
from meddiag_desktop.core.training_events import CrossValidated  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_id")
    parser.add_argument("--name", default="baseline")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fold-seed", type=int, default=None, help="seed of the fold split (default: --seed)")
    parser.add_argument("--augment", type=json.loads, default=None, help="BatchAugment keywords (JSON)")
    parser.add_argument("--train", type=json.loads, default={}, help="TrainConfig overrides (JSON)")
    parser.add_argument("--arch-kwargs", type=json.loads, default=None)
    parser.add_argument("--threshold-rule", default=None, help="youden | sensitivity:T | specificity:T | cost:R "
                        "(default: the recipe's, else youden)")
    parser.add_argument("--save-oof", help="write the out-of-fold logits, labels and OOD scores to this .npz")
    parser.add_argument("--init-from", type=Path, help="a model card whose weights start every fold (its head too if "
                        "the labels match): transfer from another task")
    parser.add_argument("--img-size", type=int, default=None, help="model input side (default: the recipe's; "
                        "larger upsamples the 28 px images)")
    parser.add_argument("--norm", choices=("task", "base"), default="task",
                        help="input mean / std: the task's (default) or the --init-from model's")
    parser.add_argument("--split-twins", action="store_true",
                        help="plain stratified folds, near-duplicates dealt apart (the issue's first protocol and how "
                        "a benchmark's random split is drawn: figures count memorised twins)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    task = args.model_id.split("-")[0]
    recipe = RECIPES[args.model_id]
    base = read_card(args.init_from) if args.init_from else None
    mean, std = (base.config.mean, base.config.std) if base and args.norm == "base" else NORMALISATION[task]
    config = ModelConfig(arch=recipe["arch"], task=task, labels=TASKS[task].labels, img_size=args.img_size or recipe["img_size"],
                         mean=mean, std=std,
                         arch_kwargs=args.arch_kwargs if args.arch_kwargs is not None else recipe.get("arch_kwargs", {}))
    data = ROOT / "resources" / "datasets" / DATA_FILES[task]
    train, val = load_npz(data, "train", config.labels), load_npz(data, "val", config.labels)
    train_cfg = {**recipe["train"], **args.train}
    cfg = TrainConfig(seed=args.seed, device="cpu", **train_cfg)
    augment = args.augment if args.augment is not None else recipe.get("augment", True)
    rule, target = recipe.get("threshold_rule", ("youden", None))
    if args.threshold_rule:
        rule, _, text = args.threshold_rule.partition(":")
        target = float(text) if text else None
    start = time.time()
    for event in cross_validate(args.model_id, config, train, val, cfg, args.folds, augment=augment, base=base,
                                n_boot=200, refit=False, fold_seed=args.fold_seed, threshold_rule=rule,
                                threshold_target=target, keep_twins_together=not args.split_twins):
        if isinstance(event, CrossValidated):
            if args.save_oof:
                np.savez(args.save_oof, logits=event.logits, labels=event.labels, ood_scores=event.ood_scores,
                         shifted_logits=event.shifted_logits, fold_ids=event.fold_ids)
            r, s = event.report, event.summary
            curve = [a if a is not None else -1.0 for a in s["mean_held_out_auc_by_epoch"]]
            print(json.dumps({
                "model": args.model_id, "name": args.name, "seed": args.seed, "fold_seed": args.fold_seed,
                "twins_split": args.split_twins, "augment": augment, "train": train_cfg,
                "arch_kwargs": config.arch_kwargs,
                "img_size": config.img_size, "init_from": str(args.init_from) if args.init_from else None, "norm": [mean, std], "rule": rule if target is None else f"{rule}:{target:g}", "n": event.n,
                "acc": round(r["accuracy"]["value"], 4), "acc_ci": [round(r["accuracy"]["ci_low"], 3), round(r["accuracy"]["ci_high"], 3)],
                "auc": round(r["auc"]["value"], 4), "auc_ci": [round(r["auc"]["ci_low"], 3), round(r["auc"]["ci_high"], 3)],
                "sens": round(r["sensitivity"]["value"], 3), "spec": round(r["specificity"]["value"], 3),
                "ece": round(r["ece"], 4), "nested": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s["nested"].items()},
                "refusal": round(s["ood"]["refused_in_distribution_nested"], 4),
                "shifted_acc": round(event.shifted["accuracy"]["value"], 4), "shifted_auc": round(event.shifted["auc"]["value"], 4),
                "best_epoch_by_mean_auc": int(max(range(len(curve)), key=curve.__getitem__)) + 1,
                "auc_at_best_epoch": round(max(curve), 4), "auc_last_epoch": round(curve[-1], 4),
                "seconds": round(time.time() - start), "cpu_seconds": round(time.process_time())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
