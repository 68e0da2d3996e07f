"""`meddiag review-queue`: the scanned images a clinician should label first, as a CSV.

Reads a ``meddiag scan`` CSV (one or more model families; of several tasks, ``--task`` picks one, default
the task whose models find most images most typical: ``core.review.ranking.choose_task``) and writes ``--out``: ``rank,path,reason,score``, one
``<model>:p_<label>`` column per model, ``refused_by``, ``sha256`` (``core.review.queue_csv``). The
rules are in ``core.review.queue`` (default ``--rule boundary``: ``core.review.boundary``; ``--rule score``:
``core.review.ranking``'s scores); the summary (task, refused images, random share and seed, the rule,
what the diversity step measured) goes to stderr. Label the queue (add a
``label`` column) and ``meddiag train --data queue.csv`` trains on it.
"""
from __future__ import annotations

import sys

from .common import NOTICE, CliError

FEATURES = ("model", "pixels", "none")


def _feature_source(choice: str, queue_models, store):
    """Penultimate features of the task's first model with a card (else pixels), pixels, or none."""
    from ..core.review.features import ModelFeatures, PixelFeatures
    from ..core.storage import ModelNotFoundError

    if choice == "none":
        return None
    if choice == "model":
        for rule in queue_models:
            try:
                return ModelFeatures(store.find(rule.model))
            except ModelNotFoundError:
                continue
        print("meddiag: no model card for the scan's models here: diversity on pixels", file=sys.stderr)
    return PixelFeatures()


def cmd_review_queue(args) -> int:
    from ..core.model_store import ModelStore
    from ..core.review.queue import build_queue
    from ..core.review.queue_csv import write_queue_csv
    from ..core.review.ranking import QueueError, choose_task, model_rules, read_scan_csv

    if args.budget < 1:
        raise CliError("--budget must be at least 1")
    if not 0.0 <= args.random_share <= 1.0:
        raise CliError("--random-share must be between 0 and 1")
    store = ModelStore()
    try:
        rows = read_scan_csv(args.results)
        rules = model_rules(rows, store)
        task = args.task or choose_task(rows, rules)
        features = _feature_source(args.features, [r for r in rules.values() if r.task == task], store)
        queue = build_queue(rows, args.budget, random_share=args.random_share, seed=args.seed, task=task,
                            features=features, rules=rules, diversity=features is not None, rule=args.rule)
    except QueueError as exc:
        raise CliError(str(exc)) from None
    try:
        write_queue_csv(queue, args.out)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    for line in queue.summary.lines():
        print(line, file=sys.stderr)
    reasons = {}
    for item in queue.items:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    print(f"{len(queue.items)} images queued -> {args.out} ("
          + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) + f"). {NOTICE}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("review-queue", help="rank scanned images for a clinician's review (a CSV queue)")
    p.add_argument("results", help="a `meddiag scan` CSV")
    p.add_argument("--budget", type=int, required=True, help="how many images to queue (labels to spend)")
    p.add_argument("--out", required=True, help="queue CSV to write (replaced atomically)")
    p.add_argument("--random-share", type=float, default=0.2,
                   help="share of the budget drawn at random, for an unbiased local accuracy (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random share (default 0)")
    p.add_argument("--task", help="the task to queue when the CSV holds several (default: the one whose "
                                  "models find most images most typical, by their OOD scores)")
    p.add_argument("--features", choices=FEATURES, default="model",
                   help="diversity step on the model's penultimate features (default), pixels, or none")
    p.add_argument("--rule", choices=("boundary", "score"), default="boundary",
                   help="boundary (default): picks spread along the clinic's own decision boundary; score: the "
                        "highest uncertainty + disagreement + near-OOD scores (see README, Review queue)")
    p.set_defaults(func=cmd_review_queue)
