#!/usr/bin/env python
"""Screenshots for the README, taken offscreen from the real window.

    python scripts/screenshots.py [--out docs/screenshots] [--demo] [--show]

Writes ``main_window.png`` and ``main_window_dark.png`` (the dark theme): the chest X-ray sample, the pneumonia models' predictions and the CNN's
Grad-CAM heat-map; with shipped weights also ``out_of_scope.png``: a breast ultrasound refused by
the chest X-ray models as outside their training data. It uses the shipped ``weights/pneumonia-*`` models that exist; when there are none
(or with ``--demo``) it creates untrained demo models in a temporary folder, and the screenshot
then shows their "DEMO" flags. Re-run it once the shipped weights are trained.

``--language zh_CN`` writes ``main_window_zh_CN.png`` alone: the same view in Simplified Chinese.

Also writes ``fine_tune.png`` (only that one with ``--fine-tune-only``): the fine-tune dialog with its
live training curves, part-way through fine-tuning the CNN on contrast-shifted chest X-rays.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "chest_xray_pneumonia_val0.png"
TASK = "pneumonia"


def demo_models(folder: Path) -> None:
    import torch

    from meddiag_desktop.core.models import ModelConfig, create_model_from_config
    from meddiag_desktop.core.storage import ModelCard, save_model
    from meddiag_desktop.core.tasks import TASKS

    spec = TASKS[TASK]
    for arch in ("cnn", "rnn", "transformer"):
        torch.manual_seed(0)
        config = ModelConfig(arch=arch, task=TASK, labels=spec.labels)
        card = ModelCard(id=f"{TASK}-{arch}-demo", config=config, demo=True, threshold=0.5,
                         positive_label=spec.positive, description="untrained demo model")
        save_model(create_model_from_config(config), card, folder)


def fine_tune_screenshot(out: Path, home: Path, epochs: int = 4, grab_after: int = 3) -> int:
    """``fine_tune.png``: the fine-tune dialog with live training curves, mid-run.

    Fine-tunes the shipped ``pneumonia-cnn`` (else an untrained demo CNN) on 600 PneumoniaMNIST
    training images with a contrast / noise shift (another X-ray unit), grabs the dialog after
    ``grab_after`` of ``epochs`` epochs, then cancels the run (nothing is saved)."""
    import numpy as np
    from PIL import Image

    from meddiag_desktop.core.paths import resource_path, shipped_weights_dir
    from meddiag_desktop.core.tasks import TASKS
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.finetune_dialog import FineTuneDialog
    from meddiag_desktop.qt.self_test import wait_for

    data = home / "fine-tune-data"
    with np.load(resource_path("datasets", "pneumoniamnist_trainval.npz")) as archive:
        images, labels = archive["train_images"][:600], archive["train_labels"].ravel()[:600]
    rng = np.random.default_rng(0)
    shifted = np.clip(0.35 * images + 150 + rng.normal(0, 18, images.shape), 0, 255).astype(np.uint8)
    for i, (image, label) in enumerate(zip(shifted, labels)):
        folder = data / TASKS[TASK].labels[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    if (shipped_weights_dir() / f"{TASK}-cnn.json").is_file():
        store, base = [shipped_weights_dir(), home / "user-models"], f"{TASK}-cnn"
    else:
        store, base = [home / "demo-models"], f"{TASK}-cnn-demo"
        if not (home / "demo-models").is_dir():
            (home / "demo-models").mkdir()
            demo_models(home / "demo-models")
    (home / "user-models").mkdir(exist_ok=True)

    app = create_application()
    app.setFont(app.font())
    dialog = FineTuneDialog(store=store, device="cpu", n_boot=200)
    dialog.resize(1280, 800)
    dialog.show()
    try:
        if not wait_for(lambda: dialog.setup.base_combo.findData(base) >= 0, 300):
            print("models did not list", file=sys.stderr)
            return 1
        dialog.set_base(base)
        dialog.set_data_path(data)
        if not wait_for(lambda: dialog.inspection is not None or dialog.inspect_error is not None, 300):
            print(f"data not readable: {dialog.inspect_error}", file=sys.stderr)
            return 1
        dialog.setup.epochs_spin.setValue(epochs)
        dialog.setup.batch_spin.setValue(32)
        dialog.setup.device_combo.setCurrentIndex(dialog.setup.device_combo.findData("cpu"))
        dialog.start()
        if not wait_for(lambda: len(dialog.epoch_log) >= grab_after or not dialog.running, 600):
            print("training did not progress", file=sys.stderr)
            return 1
        wait_for(lambda: False, 0.6)  # a few more steps on the curves, then the last redraw
        dialog.training.curves.flush()
        wait_for(lambda: False, 0.2)
        out.mkdir(parents=True, exist_ok=True)
        target = out / "fine_tune.png"
        dialog.grab().save(str(target))
        print(f"wrote {target}")
    finally:
        dialog.cancel_training()
        dialog.shutdown()
        dialog.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--demo", action="store_true", help="use untrained demo models even if weights exist")
    parser.add_argument("--show", action="store_true", help="use the real display instead of offscreen")
    parser.add_argument("--no-fine-tune", action="store_true", help="skip fine_tune.png")
    parser.add_argument("--fine-tune-only", action="store_true", help="only fine_tune.png (live training curves)")
    parser.add_argument("--language", default="en", help="zh_CN: only main_window_zh_CN.png, in Simplified Chinese")
    args = parser.parse_args()
    if not args.show:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = tempfile.mkdtemp(prefix="meddiag-shots-")
    os.environ["MEDDIAG_HOME"] = home  # fresh settings, no user models
    from meddiag_desktop.qt import dialogs

    with dialogs.unattended():  # no message box waits for a click or shows up in a shot
        if args.fine_tune_only:
            return fine_tune_screenshot(args.out, Path(home))
        return main_window_screenshots(args, home)


def main_window_screenshots(args, home: str) -> int:
    from meddiag_desktop.core.paths import shipped_weights_dir
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.self_test import wait_for
    from meddiag_desktop.qt.settings import Settings

    shipped = sorted(shipped_weights_dir().glob(f"{TASK}-*.json"))
    if shipped and not args.demo:
        store = [shipped_weights_dir()]
        print(f"using shipped models: {', '.join(p.stem for p in shipped)}")
    else:
        store = [Path(home) / "demo-models"]
        store[0].mkdir()
        demo_models(store[0])
        print("no shipped pneumonia models: using untrained DEMO models (re-run when weights/ is filled)")

    app = create_application()
    app.setFont(app.font())  # the platform default (DejaVu Sans offscreen)
    from meddiag_desktop.qt.i18n import install

    language = install(args.language, app)
    window = MainWindow(store=store, settings=Settings(Path(home) / "shots.ini"), device="cpu", task=TASK)
    window.resize(1440, 860)
    window.show()
    window.start()
    sample = str(SAMPLE)
    if not wait_for(lambda: window.info is not None and window.viewer is not None, 300):
        print("models did not load", file=sys.stderr)
        return 1
    if not shipped or args.demo:  # an untrained CNN's Grad-CAM is empty: show the Transformer's attention
        window.panel.select_explained_model(f"{TASK}-transformer-demo")
    window.set_overlay_opacity(0.5)
    window.set_overlay_enabled(True)
    window.open_files([sample])
    ok = wait_for(lambda: window.predictions_complete(sample) and window.viewer.overlay_shown(), 300)
    if not ok:
        print("predictions or heat-map did not arrive", file=sys.stderr)
        return 1
    window.statusBar().clearMessage()
    wait_for(lambda: False, 0.3)  # let the last paints through
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / ("main_window.png" if language == "en" else f"main_window_{language}.png")
    window.grab().save(str(target))
    print(f"wrote {target}")
    if language != "en":
        window.close()
        return 0
    from meddiag_desktop.qt.style import apply_theme  # the same view in the dark theme

    apply_theme("dark")
    wait_for(lambda: False, 0.3)
    target = args.out / "main_window_dark.png"
    window.grab().save(str(target))
    print(f"wrote {target}")
    apply_theme("light")
    if shipped and not args.demo:  # a breast ultrasound given to the chest X-ray models: refused
        foreign = str(ROOT / "resources" / "samples" / "breast_ultrasound_malignant_val0.png")
        window.set_overlay_enabled(False)
        window.open_files([foreign])
        if wait_for(lambda: window.predictions_complete(foreign), 300):
            wait_for(lambda: False, 0.3)
            target = args.out / "out_of_scope.png"
            window.grab().save(str(target))
            print(f"wrote {target}")
    window.close()
    return 0 if args.no_fine_tune else fine_tune_screenshot(args.out, Path(home))


if __name__ == "__main__":
    sys.exit(main())
