#!/usr/bin/env python
"""``review_mode.png`` for the README: the review window part-way through a queue, taken offscreen.

    python scripts/review_screenshot.py [--out docs/screenshots] [--show]

Writes 60 bundled PneumoniaMNIST validation images (upscaled to 224 px, gamma / contrast / noise shifted
as another X-ray unit would give) into a temporary folder, predicts them with the shipped pneumonia
models, builds the review queue (``core.review.queue.build_queue``, budget 30), labels the first six
images by their true labels through the window's own keys, and grabs the window with the CNN's heat-map.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shifted_images(folder: Path, n: int = 60) -> list[tuple[str, str]]:
    import numpy as np
    from PIL import Image

    from meddiag_desktop.core.paths import resource_path

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with np.load(resource_path("datasets", "pneumoniamnist_trainval.npz")) as archive:
        images, labels = archive["val_images"][:n], archive["val_labels"][:n, 0]
    out = []
    for i, (image, label) in enumerate(zip(images, labels)):
        x = (image / 255.0) ** 1.8
        x = np.clip(0.5 + 0.7 * (x - 0.5) + rng.normal(0, 0.05, x.shape), 0, 1)
        path = folder / f"case{i:03d}.png"
        Image.fromarray((255 * x).astype(np.uint8)).resize((224, 224), Image.Resampling.BICUBIC).save(path)
        out.append((str(path), ("normal", "pneumonia")[int(label)]))
    return out


def queue_csv(images, out: Path) -> Path:
    from meddiag_desktop.core.inference import Predictor
    from meddiag_desktop.core.io import load_image
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.review.queue import build_queue
    from meddiag_desktop.core.review.queue_csv import write_queue_csv
    from meddiag_desktop.core.review.ranking import rows_from_results

    results = []
    for card in [c for c in ModelStore().active_cards() if c.task == "pneumonia"]:
        predictor = Predictor(card, "cpu")
        arrays = [load_image(path).array for path, _ in images]
        scores = predictor.score_arrays(arrays)
        results += [predictor.result_at(path, scores, i) for i, (path, _) in enumerate(images)]
    write_queue_csv(build_queue(rows_from_results(results), 30), out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--show", action="store_true", help="use the real display instead of offscreen")
    args = parser.parse_args()
    if not args.show:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = Path(tempfile.mkdtemp(prefix="meddiag-shots-"))
    os.environ["MEDDIAG_HOME"] = str(home)  # a fresh review set, no user models
    from meddiag_desktop.qt import dialogs
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.review_window import ReviewWindow
    from meddiag_desktop.qt.self_test import wait_for

    images = shifted_images(home / "clinic")
    truth = dict(images)
    queue = queue_csv(images, home / "queue.csv")
    app = create_application()
    with dialogs.unattended():
        review = ReviewWindow(device="cpu")
        review.resize(1440, 860)
        review.show()
        review.open_queue_csv(queue)
        if not wait_for(lambda: review.review is not None, 300):
            print("the queue did not open", file=sys.stderr)
            return 1
        for _ in range(6):
            review.label(truth[review.entry.path])
        review.set_overlay_enabled(True)
        ids = review.session.model_ids()
        ok = wait_for(lambda: review.cache.complete(review.entry.path, ids) and review.image_area.viewer.overlay_shown()
                      and "here" in review.footer.accuracy_label.text(), 300)
        wait_for(lambda: False, 0.3)  # the last paints
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "review_mode.png"
        review.grab().save(str(target))
        print(f"wrote {target}" + ("" if ok else " (predictions, heat-map or accuracy still pending)"))
        review.close()
    app.processEvents()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
