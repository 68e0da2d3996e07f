"""Paired test-time-augmentation check (issue 15): one member of a shipped CNN recipe cross-validated on the
shipped folds, each fold model scoring its held-out images plain and averaged over views (left-right flip;
1-px shifts; both), so every variant is judged on the SAME fold models. Writes one out-of-fold .npz per
variant for ``scripts/cv_ensemble.py`` (combine seeds there: the members of a ``SeedEnsemble``). ``--member``
picks which member of a per-member recipe (its variant, augmentation and settings; the seed stays ``--seed``).

    python scripts/cv_tta.py breast-cnn --seed 1 --out runs/tta-s1   # runs/tta-s1-{plain,flip,shift,flipshift}.npz
    python scripts/cv_tta.py breast-cnn --member 0 --seed 2 --out runs/wide-s2   # the flipped wide CNN, seed 2
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_shipped import DATA_FILES, NORMALISATION, RECIPES, ROOT  # noqa: E402

from meddiag_desktop.core.cross_validation import deal_folds, join  # noqa: E402
from meddiag_desktop.core.data import TensorDataset, batch_loader, for_member, load_npz  # noqa: E402
from meddiag_desktop.core.models import ModelConfig, member_kwargs  # noqa: E402
from meddiag_desktop.core.pipeline import align_labels, augmenter, initial_model, positive_index  # noqa: E402
from meddiag_desktop.core.tasks import TASKS  # noqa: E402
from meddiag_desktop.core.training import TrainConfig, fit  # noqa: E402


def shifted(dx: int, dy: int):
    return lambda x: torch.roll(x, (dy, dx), dims=(-2, -1))


SHIFTS = [shifted(-1, 0), shifted(1, 0), shifted(0, -1), shifted(0, 1)]
VIEWS = {"plain": [lambda x: x], "flip": [lambda x: x, lambda x: x.flip(-1)],
         "shift": [lambda x: x, *SHIFTS], "flipshift": [lambda x: x, lambda x: x.flip(-1), *SHIFTS]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", required=True, help="prefix of the .npz files")
    parser.add_argument("--member", type=int, default=0, help="member of the recipe: its variant, augment, settings")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    task, recipe = args.model_id.split("-")[0], RECIPES[args.model_id]
    config = ModelConfig(arch=recipe["arch"], task=task, labels=TASKS[task].labels, img_size=recipe["img_size"],
                         mean=NORMALISATION[task][0], std=NORMALISATION[task][1],
                         arch_kwargs=member_kwargs(recipe.get("arch_kwargs", {}), args.member))
    data = ROOT / "resources" / "datasets" / DATA_FILES[task]
    train = align_labels(load_npz(data, "train", config.labels), config.labels)
    val = align_labels(load_npz(data, "val", config.labels), config.labels)
    member = TrainConfig(seed=args.seed, device="cpu", **recipe["train"]).for_member(args.member)
    cfg = replace(member, seed=args.seed, member_settings=(), positive=positive_index(config.labels, task),
                  keep="last", patience=0)  # as cross_validate
    augment = augmenter(recipe.get("augment", True))
    everything = TensorDataset(join(train, val), config)
    labels = everything.labels.numpy()
    fold_ids, _ = deal_folds(everything.inputs, labels, args.folds, args.fold_seed)  # as cross_validate
    oof = {name: np.zeros((len(labels), config.num_classes)) for name in VIEWS}
    start = time.time()
    for fold in range(args.folds):
        held, rest = np.flatnonzero(fold_ids == fold), np.flatnonzero(fold_ids != fold)
        model = initial_model(config, cfg.seed)
        training = for_member(everything.subset(rest, augment), args.member)  # the member's own augmentation
        for _ in fit(model, training, everything.subset(held), cfg):
            pass
        model.eval()
        with torch.inference_mode():
            x = torch.cat([batch for batch, _ in batch_loader(everything.subset(held), 256)])
            for name, views in VIEWS.items():
                oof[name][held] = torch.stack([model(view(x)) for view in views]).mean(0).numpy()
        print(f"fold {fold + 1}: {time.time() - start:.0f} s, {time.process_time():.0f} CPU-s", flush=True)
    for name, logits in oof.items():
        np.savez(f"{args.out}-{name}.npz", logits=logits, labels=labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
