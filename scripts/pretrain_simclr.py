"""Self-supervised pretext for the breast CNN (issue 15, session 9): SimCLR (Chen et al. 2020) contrastive
pretraining of the CNN's layers on the images of both shipped data sets (no labels), two views of each
image from the training augmentation made stronger; saved as a model card that ``cv_recipes.py
--init-from`` fine-tunes from (its head is not trained: fine-tuning re-initialises it). Deterministic.

    python scripts/pretrain_simclr.py --out /tmp/simclr --epochs 20
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_shipped import DATA_FILES, NORMALISATION, ROOT  # noqa: E402

from meddiag_desktop.core.data import BatchAugment, LabeledSet, TensorDataset, load_npz  # noqa: E402
from meddiag_desktop.core.models import ModelConfig  # noqa: E402
from meddiag_desktop.core.pipeline import initial_model  # noqa: E402
from meddiag_desktop.core.preprocess import normalize  # noqa: E402
from meddiag_desktop.core.storage import ModelCard, save_model  # noqa: E402
from meddiag_desktop.core.training import TrainConfig, cosine_with_warmup, make_optimizer, seed_everything  # noqa: E402


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    z = nn.functional.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(-1e9)
    n = len(a)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return nn.functional.cross_entropy(sim, target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sets", default="pneumonia,breast")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--strength", type=float, default=2.0, help="BatchAugment strength of the views")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    images = [load_npz(ROOT / "resources" / "datasets" / DATA_FILES[t], s).images
              for t in args.sets.split(",") for s in ("train", "val")]
    pool = np.concatenate(images)
    config = ModelConfig(arch="cnn", task="pretext", labels=("view-a", "view-b"), img_size=28,
                         mean=NORMALISATION["breast"][0], std=NORMALISATION["breast"][1])
    data = TensorDataset(LabeledSet(config.labels, np.zeros(len(pool), dtype=np.int64), pool), config)
    raw = data.inputs  # prepared, in [0, 1], not normalised
    seed_everything(args.seed)
    model = initial_model(config, args.seed)
    width = model.num_features
    projector = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, 64))
    both = nn.ModuleDict({"encoder": model, "projector": projector})
    cfg = TrainConfig(lr=args.lr, weight_decay=1e-4, epochs=args.epochs)
    optimizer = make_optimizer(both, cfg)
    steps = len(pool) // args.batch_size
    scheduler = cosine_with_warmup(optimizer, args.epochs * steps, steps)
    view = BatchAugment(strength=args.strength, gamma=0.3, blur=0.8, noise=0.03)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.process_time()
    for epoch in range(1, args.epochs + 1):
        both.train()
        order, total = torch.randperm(len(pool), generator=generator), 0.0
        for step in range(steps):
            x = raw[order[step * args.batch_size:(step + 1) * args.batch_size]]
            a = projector(model.forward_features(normalize(view(x), config)))
            b = projector(model.forward_features(normalize(view(x), config)))
            loss = nt_xent(a, b, args.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
        print(f"epoch {epoch} loss {total / steps:.4f} cpu {time.process_time() - start:.0f}s", flush=True)
    card = ModelCard(id="pretext-cnn", config=config, description=f"SimCLR pretext on {args.sets} train+val images",
                     training={**vars(args), "out": str(args.out), "images": len(pool)})
    save_model(model.eval(), card, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
