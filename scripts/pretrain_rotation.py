"""Self-supervised pretext for the breast CNN (issue 15, session 9): rotation prediction (``core.pretext``)
on the train + val images of the shipped data sets (no labels used), saved as a model card that
``cv_recipes.py --init-from`` fine-tunes from. Deterministic (one thread, seeded): a rerun gives the
same weights bit for bit.

    python scripts/pretrain_rotation.py --out /tmp/rot --epochs 3 [--sets pneumonia,breast]
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
from train_shipped import DATA_FILES, NORMALISATION, ROOT  # noqa: E402

from meddiag_desktop.core.data import load_npz  # noqa: E402
from meddiag_desktop.core.models import ModelConfig  # noqa: E402
from meddiag_desktop.core.pipeline import initial_model  # noqa: E402
from meddiag_desktop.core.pretext import pretext_config, rotation_pretext  # noqa: E402
from meddiag_desktop.core.storage import ModelCard, save_model  # noqa: E402
from meddiag_desktop.core.training import TrainConfig  # noqa: E402
from meddiag_desktop.core.training_events import EpochEnd, FitEnd  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sets", default="pneumonia,breast")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arch-kwargs", default="{}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    images = []
    for task in args.sets.split(","):
        data = ROOT / "resources" / "datasets" / DATA_FILES[task]
        for split in ("train", "val"):
            images.append(load_npz(data, split).images)
    pool = np.concatenate(images)
    config = pretext_config(ModelConfig(arch="cnn", task="breast", labels=("a", "b"), img_size=28,
                                        mean=NORMALISATION["breast"][0], std=NORMALISATION["breast"][1],
                                        arch_kwargs=json.loads(args.arch_kwargs)))
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=128, weight_decay=0.05, seed=args.seed,
                      device="cpu", patience=0, keep="last")
    model = initial_model(config, args.seed)
    start = time.process_time()
    for event in rotation_pretext(model, config, pool, cfg):
        if isinstance(event, (EpochEnd, FitEnd)):
            print(type(event).__name__, getattr(event, "epoch", ""), round(getattr(event, "train_loss", 0.0), 4),
                  f"cpu {time.process_time() - start:.0f}s", flush=True)
    card = ModelCard(id="pretext-cnn", config=config, description=f"rotation pretext on {args.sets} train+val images",
                     training={**cfg.to_dict(), "images": len(pool)})
    save_model(model, card, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
