#!/usr/bin/env python
"""Screenshots for the README, taken offscreen from the real window.

    python scripts/screenshots.py [--out docs/screenshots] [--demo] [--show]

Writes ``main_window.png``: the chest X-ray sample, the pneumonia models' predictions and the CNN's
Grad-CAM heat-map. It uses the shipped ``weights/pneumonia-*`` models that exist; when there are none
(or with ``--demo``) it creates untrained demo models in a temporary folder, and the screenshot
then shows their "DEMO" flags. Re-run it once the shipped weights are trained.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--demo", action="store_true", help="use untrained demo models even if weights exist")
    parser.add_argument("--show", action="store_true", help="use the real display instead of offscreen")
    args = parser.parse_args()
    if not args.show:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = tempfile.mkdtemp(prefix="meddiag-shots-")
    os.environ["MEDDIAG_HOME"] = home  # fresh settings, no user models

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
    window = MainWindow(store=store, settings=Settings(Path(home) / "shots.ini"), device="cpu", task=TASK,
                        dialogs_enabled=False)
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
    target = args.out / "main_window.png"
    window.grab().save(str(target))
    print(f"wrote {target}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
