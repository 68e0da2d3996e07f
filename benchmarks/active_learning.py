"""Review queue vs random labels (issue 19): is a budget of 100 labels better spent on the queue?

A shifted "clinic" set is made from the bundled PneumoniaMNIST validation images as another scanner
would give them (gamma, lower contrast, noise), written as PNG files. Per seed: a stratified split into
a clinic pool (60 %) and a held-out part (40 %); the pool is scanned by the three shipped pneumonia
models (``core.scan``), ``core.review.queue.build_queue`` picks 100 with its defaults (the "boundary"
rule, 20 % random share, diversity on the CNN's penultimate features; ``--rule score`` for the earlier
rule), and 100 images are drawn at random from the same pool. The shipped pneumonia CNN is fine-tuned
on each 100 (true labels, same recipe and seed) and scored by AUC on the held-out part. Printed: each
seed, the means, and the paired difference queue - random with a 95 % bootstrap interval over the
seeds; the last line is key=value.

    nice -n 10 python benchmarks/active_learning.py [--seeds 10] [--budget 100] [--epochs 15] [--rule boundary]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from meddiag_desktop.core.data import stratified_split
from meddiag_desktop.core.inference import Predictor
from meddiag_desktop.core.jobs import Progress
from meddiag_desktop.core.metrics import roc_auc
from meddiag_desktop.core.model_store import ModelStore
from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.core.preprocess import preprocess
from meddiag_desktop.core.review.features import ModelFeatures
from meddiag_desktop.core.review.queue import build_queue
from meddiag_desktop.core.review.ranking import rows_from_results
from meddiag_desktop.core.scan import scan
from meddiag_desktop.core.storage import load_weights


def shifted_clinic(folder: Path, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """The validation images as another scanner gives them, as PNG files; their true labels."""
    with np.load(resource_path("datasets", "pneumoniamnist_trainval.npz")) as archive:
        images, labels = archive["val_images"], archive["val_labels"].ravel().astype(np.int64)
    rng = np.random.default_rng(seed)
    paths = []
    for i, image in enumerate(images):
        x = (image.astype(np.float64) / 255.0) ** 1.8  # gamma
        x = (x - x.mean()) * 0.7 + 0.45  # lower contrast, another window
        x = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)  # detector noise
        path = folder / f"img{i:04d}.png"
        Image.fromarray((x * 255).round().astype(np.uint8)).save(path)
        paths.append(str(path))
    return paths, labels


def tensors(card, paths):
    return torch.stack([preprocess(np.asarray(Image.open(p), np.float32) / 255.0, card.config) for p in paths])


def fine_tune(card, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, replay=None) -> torch.nn.Module:
    """The benchmark's fine-tune (also review_rule_selection's): ``replay`` = (x, y) mixed into every epoch."""
    torch.manual_seed(seed)
    model = load_weights(card, "cpu").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    if replay is not None:
        x, y = torch.cat([x, replay[0]]), torch.cat([y, replay[1]])
    weights = len(y) / (2.0 * torch.bincount(y, minlength=2).clamp(min=1).float())
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    for _ in range(epochs):
        for batch in torch.randperm(len(y)).split(20):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


@torch.inference_mode()
def auc(model, x: torch.Tensor, y: np.ndarray, positive: int) -> float:
    return float(roc_auc(y, torch.softmax(model(x), 1)[:, positive].numpy()))


def paired_interval(diffs: np.ndarray, n_boot: int = 10000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of paired differences."""
    means = np.random.default_rng(seed).choice(diffs, (n_boot, len(diffs)), replace=True).mean(1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--rule", choices=("boundary", "score"), default="boundary")
    args = parser.parse_args()
    torch.set_num_threads(1)
    store = ModelStore()
    cards = store.resolve("all", "pneumonia")
    cnn = store.find("pneumonia-cnn")
    predictors = [Predictor(c, "cpu") for c in cards]
    pos = cnn.positive_index
    results = {"queue": [], "random": [], "shipped": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths, labels = shifted_clinic(Path(tmp))
        truth = dict(zip(paths, labels))
        for seed in range(args.seeds):
            pool_idx, held_idx = stratified_split(labels, 0.4, seed=seed)
            pool = [paths[i] for i in pool_idx]
            held_x, held_y = tensors(cnn, [paths[i] for i in held_idx]), labels[held_idx]
            events = scan(pool, predictors, workers=0)
            rows = rows_from_results(e for e in events if not isinstance(e, Progress))
            queue = build_queue(rows, args.budget, seed=seed, store=store, task="pneumonia",
                                features=ModelFeatures(cnn), hash_files=False, rule=args.rule)
            picked = {"queue": [i.path for i in queue.items],
                      "random": list(np.random.default_rng(1000 + seed).choice(pool, args.budget, replace=False))}
            results["shipped"].append(auc(load_weights(cnn, "cpu").eval(), held_x, held_y, pos))
            for name, chosen in picked.items():
                y = torch.tensor([truth[p] for p in chosen])
                model = fine_tune(cnn, tensors(cnn, chosen), y, args.epochs, seed)
                results[name].append(auc(model, held_x, held_y, pos))
            reasons = {r: sum(i.reason == r for i in queue.items) for r in sorted({i.reason for i in queue.items})}
            print(f"seed {seed}: pool {len(pool)}, held-out {len(held_y)}; queue reasons {reasons}; "
                  f"queue positives {sum(truth[p] == pos for p in picked['queue'])}/{args.budget}, random "
                  f"{sum(truth[p] == pos for p in picked['random'])}/{args.budget}; AUC shipped "
                  f"{results['shipped'][-1]:.4f}, queue {results['queue'][-1]:.4f}, random {results['random'][-1]:.4f}",
                  flush=True)
    mean = {k: float(np.mean(v)) for k, v in results.items()}
    diffs = np.array(results["queue"]) - np.array(results["random"])
    low, high = paired_interval(diffs)
    wins = int((diffs > 0).sum())
    print(f"queue - random: mean {diffs.mean():+.4f}, 95 % bootstrap interval [{low:+.4f}, {high:+.4f}], "
          f"queue ahead in {wins} of {len(diffs)} seeds (rule {args.rule!r})")
    print(f"auc_queue={mean['queue']:.4f} auc_random={mean['random']:.4f} auc_shipped={mean['shipped']:.4f} "
          f"gain={diffs.mean():+.4f} gain_ci_low={low:+.4f} gain_ci_high={high:+.4f} wins={wins}/{len(diffs)} "
          f"rule={args.rule} seeds={args.seeds} budget={args.budget}")


if __name__ == "__main__":
    main()
