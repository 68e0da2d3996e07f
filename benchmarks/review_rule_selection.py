"""How should the review queue pick its labels? Candidate rules compared on several shifted clinic sets.

Protocol (chosen before looking at the benchmark's result, so the default is not tuned to it): each
*condition* is a shifted clinic set made from the bundled PneumoniaMNIST images, as another scanner or
another clinic would give them; per condition and seed, a stratified 60 / 40 split into a clinic pool and
a held-out part; every rule picks ``budget`` images of the pool (20 % random included, as
``meddiag review-queue``'s default); the shipped pneumonia CNN is fine-tuned on each pick (true labels,
the benchmark's recipe, same seed) and scored by AUC on the held-out part. Every rule is compared with
100 random images of the same pool, fine-tuned the same way: the paired difference, its mean over all
(condition, seed) trials with a 95 % t-interval, and per condition.

Conditions: ``bench`` (gamma 1.8, contrast x 0.7, noise 0.05: the benchmark's kind, other noise),
``bright`` (gamma 0.6, contrast x 1.25, noise 0.02), ``blur`` (Gaussian blur, contrast x 0.85, noise 0.03),
``mixed`` (per image gamma 0.6-1.8, contrast x 0.6-1.2, noise 0-0.06: several scanners), ``prev38`` (the
bench shift with pneumonia images dropped to 62 %, as in the MedMNIST test split), ``bigpool`` (a pool of
1 500 shifted *training* images, held out: the shifted validation images; the models saw these
images unshifted, so this condition only checks a larger pool).

Needs scipy (the blur, the t-intervals). ``--replay N`` mixes N shipped training images (unshifted) into every
fine-tune. The rule names: ``random``, ``core`` (``build_queue``'s default), ``current`` (``--rule score``),
``band`` / ``bandmix`` / ``bandd`` (prototypes of the boundary rule), ``strat`` / ``stratu`` / ``low`` (by ranks of
the mean P(positive)), ``ud`` / ``bal`` (uncertainty + disagreement, class-balanced by predicted side),
``clu`` / ``rep`` / ``clubal`` / ``clutop`` (k-means on penultimate features), ``*_rs50`` (half random),
``oracle50`` / ``oracle40`` / ``oracle15`` (analysis only: random with that share of normal images).

    python benchmarks/review_rule_selection.py prepare --out out/rules.pkl      # scans, features (minutes)
    python benchmarks/review_rule_selection.py run out/rules.pkl --seeds 8 --workers 2 --json out/r.json
    python benchmarks/review_rule_selection.py report out/r.json
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

BUDGET, RANDOM_SHARE = 100, 0.2
CONDITIONS = ("bench", "bright", "blur", "mixed", "prev38", "bigpool")


def shift(images: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """uint8 images as another scanner gives them (uint8 out)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    out = []
    for image in images:
        x = image.astype(np.float64) / 255.0
        if kind == "bright":
            gamma, contrast, noise = 0.6, 1.25, 0.02
        elif kind == "blur":
            x, gamma, contrast, noise = gaussian_filter(x, 0.8), 1.0, 0.85, 0.03
        elif kind == "mixed":
            gamma, contrast, noise = rng.uniform(0.6, 1.8), rng.uniform(0.6, 1.2), rng.uniform(0.0, 0.06)
        else:
            gamma, contrast, noise = 1.8, 0.7, 0.05
        x = x ** gamma
        x = (x - x.mean()) * contrast + (0.45 if kind in ("bench", "prev38", "bigpool") else x.mean())
        x = np.clip(x + rng.normal(0, noise, x.shape), 0, 1)
        out.append((x * 255).round().astype(np.uint8))
    return np.stack(out)


def prepare(out: Path) -> None:
    import torch
    from PIL import Image

    from meddiag_desktop.core.inference import Predictor
    from meddiag_desktop.core.jobs import Progress
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.paths import resource_path
    from meddiag_desktop.core.preprocess import preprocess
    from meddiag_desktop.core.review.features import ModelFeatures
    from meddiag_desktop.core.review.ranking import model_rules, rows_from_results
    from meddiag_desktop.core.scan import scan

    torch.set_num_threads(2)
    store = ModelStore()
    cards = store.resolve("all", "pneumonia")
    cnn = store.find("pneumonia-cnn")
    predictors = [Predictor(c, "cpu") for c in cards]
    with np.load(resource_path("datasets", "pneumoniamnist_trainval.npz")) as archive:
        val_x, val_y = archive["val_images"], archive["val_labels"].ravel().astype(np.int64)
        train_x, train_y = archive["train_images"], archive["train_labels"].ravel().astype(np.int64)
    data = {"conditions": {}}
    for n, kind in enumerate(CONDITIONS):
        images, labels, fixed_held = val_x, val_y, None
        if kind == "prev38":
            rng = np.random.default_rng(38)
            keep_pos = rng.choice(np.flatnonzero(val_y == 1), 220, replace=False)
            keep = np.sort(np.concatenate([np.flatnonzero(val_y == 0), keep_pos]))
            images, labels = val_x[keep], val_y[keep]
        if kind == "bigpool":
            pick = np.sort(np.random.default_rng(15).choice(len(train_y), 1500, replace=False))
            images, labels = np.concatenate([train_x[pick], val_x]), np.concatenate([train_y[pick], val_y])
            fixed_held = np.arange(1500, len(labels))
        shifted = shift(images, kind, seed=100 + n)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, image in enumerate(shifted):
                paths.append(os.path.join(tmp, f"img{i:05d}.png"))
                Image.fromarray(image).save(paths[-1])
            results = [e for e in scan(paths, predictors, workers=0) if not isinstance(e, Progress)]
            features = ModelFeatures(cnn)(paths)
            rows = rows_from_results(results)
            rules = model_rules(rows, store)
            names = [os.path.basename(p) for p in paths]
            rows = [replace(r, path=os.path.basename(r.path)) for r in rows]
            x = torch.stack([preprocess(im.astype(np.float32) / 255.0, cnn.config) for im in shifted]).numpy()
            data["conditions"][kind] = {"names": names, "labels": labels, "x": x, "rows": rows, "rules": rules,
                                        "features": np.stack([features[p] for p in paths]),
                                        "held": fixed_held}
        print(f"{kind}: {len(labels)} images, {labels.mean():.0%} pneumonia", flush=True)
    replay = np.random.default_rng(7).choice(np.setdiff1d(np.arange(len(train_y)), pick), 400, replace=False)
    data["replay_x"] = torch.stack([preprocess(im.astype(np.float32) / 255.0, cnn.config) for im in train_x[replay]]).numpy()
    data["replay_y"] = train_y[replay]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as handle:
        pickle.dump(data, handle)


# ------------------------------------------------------------------------------------------------ rules
def kmeans(vectors: np.ndarray, k: int, seed: int, iterations: int = 25) -> np.ndarray:
    """Cluster index of each vector (k-means++ start, Lloyd iterations)."""
    rng = np.random.default_rng(seed)
    centres = [vectors[rng.integers(len(vectors))]]
    for _ in range(1, k):
        d2 = np.min(((vectors[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), 1)
        centres.append(vectors[rng.choice(len(vectors), p=d2 / d2.sum())] if d2.sum() > 0 else vectors[rng.integers(len(vectors))])
    centres = np.array(centres)
    for _ in range(iterations):
        assign = np.argmin(((vectors[:, None, :] - centres[None]) ** 2).sum(-1), 1)
        for j in range(k):
            if np.any(assign == j):
                centres[j] = vectors[assign == j].mean(0)
    return np.argmin(((vectors[:, None, :] - centres[None]) ** 2).sum(-1), 1), centres


def side(image, rules) -> int:
    """1 if the families' majority decision on the image is positive (ties: the mean normalised margin)."""
    votes, margins = [], []
    for model, probs in image.probabilities.items():
        rule = rules[model]
        p, t = probs[rule.positive], rule.threshold
        votes.append(p >= t)
        margins.append((p - t) / (1 - t if p >= t else t))
    mean = float(np.mean(votes))
    return int(mean > 0.5 or (mean == 0.5 and np.mean(margins) >= 0))


def card_rules(rules: dict) -> dict:
    """The rules as ``model_rules`` gives them now (from the shipped cards; the pickle may predate a field)."""
    from meddiag_desktop.core.review.ranking import ModelRule
    from meddiag_desktop.core.storage import read_card

    weights = Path(__file__).resolve().parents[1] / "weights"
    return {m: ModelRule.from_card(read_card(weights / f"{m}.json")) for m in rules}


def pick(rule: str, pool: list[str], cond: dict, seed: int, budget: int = BUDGET) -> list[str]:
    """``budget`` names of ``pool`` by ``rule`` (the queue's random share drawn as core draws it)."""
    from meddiag_desktop.core.review.queue import build_queue, diversify
    from meddiag_desktop.core.review.ranking import score_images

    index = {n: i for i, n in enumerate(cond["names"])}
    cond["rules"] = card_rules(cond["rules"])
    pool_set = set(pool)
    rows = [r for r in cond["rows"] if r.path in pool_set]
    feats = cond["features"]

    def features(paths):
        return {p: feats[index[p]] for p in paths}
    features.name = "cnn"
    if rule == "random":
        return list(np.random.default_rng(1000 + seed).choice(sorted(pool), budget, replace=False))
    if rule.startswith("oracle"):  # analysis only: a random pick with a set share of normal images
        share_normal = {"oracle50": 0.5, "oracle40": 0.4, "oracle15": 0.15}[rule]
        rng, truth = np.random.default_rng(2000 + seed), dict(zip(cond["names"], cond["labels"]))
        classes = [sorted(n for n in pool if truth[n] == v) for v in (0, 1)]
        n0 = min(len(classes[0]), round(share_normal * budget))
        return list(rng.choice(classes[0], n0, replace=False)) + list(rng.choice(classes[1], budget - n0, replace=False))
    share = 0.5 if rule.endswith("_rs50") else RANDOM_SHARE
    base = rule.removesuffix("_rs50")
    if base in ("current", "core"):  # core's "score" rule (the earlier default) / core's default rule
        return [i.path for i in build_queue(rows, budget, seed=seed, task="pneumonia", rules=cond["rules"],
                                            features=features, hash_files=False, random_share=share,
                                            rule="score" if base == "current" else "boundary").items]
    scores, _ = score_images(rows, cond["rules"], "pneumonia")
    by_path = sorted(scores, key=lambda s: s.path)
    n_random = round(share * budget)
    randoms = [by_path[i].path for i in np.random.default_rng(seed).choice(len(by_path), n_random, replace=False)]
    rest = [s for s in scores if s.path not in set(randoms)]
    k = budget - n_random
    core_score = {s.path: s.score for s in rest}
    ud = {s.path: (s.score if s.refused else s.uncertainty + s.disagreement) for s in rest}
    rest = sorted([replace(s, score=round(ud[s.path], 6)) for s in rest], key=lambda s: (-s.score, s.path))
    if base in ("strat", "stratu", "low", "band", "bandmix", "bandd"):  # spread over / parts of the families' mean P(positive)
        mean_p = {s.path: np.mean([p[cond["rules"][m].positive] for m, p in s.probabilities.items()]) for s in rest}
        ordered = sorted((replace(s, score=core_score[s.path]) for s in rest), key=lambda s: (mean_p[s.path], s.path))
        if base == "low":
            return randoms + [s.path for s in ordered[:k]]
        rng = np.random.default_rng(3000 + seed)
        if base == "stratu":  # one per rank stratum: the most informative (core score u + d + o) of each
            return randoms + [max((ordered[i] for i in chunk), key=lambda s: (s.score, s.path)).path
                              for chunk in np.array_split(np.arange(len(ordered)), k)]
        if base == "strat":
            return randoms + [ordered[rng.choice(chunk)].path for chunk in np.array_split(np.arange(len(ordered)), k)]
        # band: ranks around where the card's validation prevalence puts the boundary (26 % normal)
        q0, width = 0.26, 0.15
        lo, hi = int(len(ordered) * max(0.0, q0 - width)), int(np.ceil(len(ordered) * min(1.0, q0 + width)))
        n_band = k // 2 if base == "bandmix" else k
        band = np.arange(lo, hi)
        if base == "bandd":  # per stratum the largest disagreement + near-OOD
            chosen = [int(max(c, key=lambda i: (ordered[i].disagreement + ordered[i].near_ood, ordered[i].path)))
                      for c in np.array_split(band, min(n_band, len(band)))]
        else:
            chosen = [int(rng.choice(c)) for c in np.array_split(band, min(n_band, len(band)))]
        others = [i for i in range(len(ordered)) if i not in set(chosen)]
        if k > len(chosen):
            chosen += [others[int(rng.choice(c))] for c in np.array_split(np.arange(len(others)), k - len(chosen))]
        return randoms + [ordered[i].path for i in chosen]
    if base == "ud":
        return randoms + [s.path for s in diversify(rest, k, features)]
    if base == "bal":
        sides = {s.path: side(s, cond["rules"]) for s in rest}
        groups = [[s for s in rest if sides[s.path] == v] for v in (0, 1)]
        want = [min(len(groups[0]), k // 2)]
        want.append(min(len(groups[1]), k - want[0]))
        want[0] = min(len(groups[0]), k - want[1])
        return randoms + [s.path for g, w in zip(groups, want) for s in diversify(g, w, features)]
    if base in ("clu", "rep", "clubal", "clutop"):
        def per_cluster(items, n_clusters):
            if n_clusters <= 0:
                return []
            vecs = np.stack([feats[index[s.path]] for s in items])
            assign, centres = kmeans(vecs, min(n_clusters, len(items)), seed)
            chosen = []
            for j in range(centres.shape[0]):
                members = [i for i in range(len(items)) if assign[i] == j]
                if not members:
                    continue
                if base == "rep":
                    best = min(members, key=lambda i: (((vecs[i] - centres[j]) ** 2).sum(), items[i].path))
                else:
                    best = min(members, key=lambda i: (-items[i].score, items[i].path))
                chosen.append(items[best])
            extra = [s for s in items if s not in chosen]  # empty clusters: top up by score
            return chosen + extra[:n_clusters - len(chosen)]
        if base == "clutop":
            return randoms + [s.path for s in per_cluster(rest[:3 * k], k)]
        if base == "clubal":
            sides = {s.path: side(s, cond["rules"]) for s in rest}
            groups = [[s for s in rest if sides[s.path] == v] for v in (0, 1)]
            n0 = min(len(groups[0]), k // 2)
            n1 = min(len(groups[1]), k - n0)
            n0 = min(len(groups[0]), k - n1)
            return randoms + [s.path for g, w in zip(groups, (n0, n1)) for s in per_cluster(g, w)]
        return randoms + [s.path for s in per_cluster(rest, k)]
    raise ValueError(rule)


# ------------------------------------------------------------------------------------------------ run
def fine_tune(card, x, y, epochs: int, seed: int, replay=None):
    """active_learning.fine_tune: the benchmark's own fine-tune, so both compare the same thing."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from active_learning import fine_tune as benchmark_fine_tune

    return benchmark_fine_tune(card, x, y, epochs, seed, replay)


def trial(job) -> list[dict]:
    import torch

    from meddiag_desktop.core.data import stratified_split
    from meddiag_desktop.core.metrics import roc_auc
    from meddiag_desktop.core.storage import read_card

    path, kind, seed, rules, epochs, n_replay = job
    torch.set_num_threads(1)
    with open(path, "rb") as handle:
        data = pickle.load(handle)
    card = read_card(Path(__file__).resolve().parents[1] / "weights" / "pneumonia-cnn.json")
    cond = data["conditions"][kind]
    labels, x = cond["labels"], torch.from_numpy(cond["x"])
    if cond["held"] is None:
        pool_idx, held_idx = stratified_split(labels, 0.4, seed=seed)
    else:
        held_idx = cond["held"]
        pool_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    pool = [cond["names"][i] for i in pool_idx]
    index = {n: i for i, n in enumerate(cond["names"])}
    replay = None
    if n_replay:
        replay = (torch.from_numpy(data["replay_x"][:n_replay]), torch.from_numpy(data["replay_y"][:n_replay]))
    out = []
    for rule in rules:
        chosen = [index[n] for n in pick(rule, pool, cond, seed)]
        model = fine_tune(card, x[chosen], torch.from_numpy(labels[chosen]), epochs, seed, replay)
        with torch.inference_mode():
            p = torch.softmax(model(x[held_idx]), 1)[:, 1].numpy()
        out.append({"condition": kind, "seed": seed, "rule": rule, "auc": float(roc_auc(labels[held_idx], p)),
                    "positives": int(labels[chosen].sum())})
    print(kind, seed, " ".join(f"{r['rule']}={r['auc']:.4f}" for r in out), flush=True)
    return out


def report(results: list[dict]) -> None:
    from scipy import stats

    table = {}
    for r in results:
        table.setdefault((r["condition"], r["seed"]), {})[r["rule"]] = r
    rules = [r for r in dict.fromkeys(r["rule"] for r in results) if r != "random"]
    conditions = list(dict.fromkeys(r["condition"] for r in results))
    print(f"{'rule':<14}{'all: mean diff [95% CI]':<34}{'wins':<8}" + "".join(f"{c:>10}" for c in conditions) + "  positives")
    for rule in rules:
        diffs = {c: [t[rule]["auc"] - t["random"]["auc"] for (cc, _), t in table.items() if cc == c and rule in t]
                 for c in conditions}
        every = np.array([d for v in diffs.values() for d in v])
        half = stats.t.ppf(0.975, len(every) - 1) * every.std(ddof=1) / np.sqrt(len(every)) if len(every) > 1 else np.nan
        pos = np.mean([t[rule]["positives"] for t in table.values() if rule in t])
        print(f"{rule:<14}{every.mean():+.4f} [{every.mean() - half:+.4f}, {every.mean() + half:+.4f}]{'':<9}"
              f"{(every > 0).sum():>3}/{len(every):<4}" + "".join(f"{np.mean(v):>+10.4f}" for v in diffs.values())
              + f"  {pos:.0f}")
    rand = np.mean([t["random"]["auc"] for t in table.values()])
    print(f"random: mean AUC {rand:.4f}, positives {np.mean([t['random']['positives'] for t in table.values()]):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("data", type=Path)
    r.add_argument("--seeds", type=int, default=8)
    r.add_argument("--first-seed", type=int, default=0)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--epochs", type=int, default=15)
    r.add_argument("--conditions", default=",".join(CONDITIONS))
    r.add_argument("--rules", default="random,current,ud,bal,clu,rep,clubal,clutop,clubal_rs50")
    r.add_argument("--replay", type=int, default=0, help="add this many shipped training images to every fine-tune")
    r.add_argument("--json", type=Path, required=True)
    s = sub.add_parser("report")
    s.add_argument("json", type=Path)
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.out)
        return
    if args.step == "report":
        report(json.loads(args.json.read_text()))
        return
    import multiprocessing

    jobs = [(str(args.data), c, s, args.rules.split(","), args.epochs, args.replay) for s in
            range(args.first_seed, args.first_seed + args.seeds) for c in args.conditions.split(",")]
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        results = [r for chunk in pool.imap_unordered(trial, jobs) for r in chunk]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results))
    report(results)


if __name__ == "__main__":
    sys.exit(main())
