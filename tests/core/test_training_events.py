"""``core.training_events`` holds the training run's plain records without torch, so the window can
build a FineTuneSpec and read the events in its GUI thread."""
from __future__ import annotations

import json
import subprocess
import sys

_IMPORT = r"""
import json, sys
import meddiag_desktop.core.training_events as events
spec = events.FineTuneSpec(data="folder", epochs=2)
print(json.dumps({"loaded": sorted(sys.modules), "epochs": spec.epochs}))
"""


def test_importing_training_events_loads_no_torch_and_no_qt():
    result = subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = sorted(m for m in report["loaded"] if m.split(".")[0] in {"torch", "torchvision", "PySide6", "pyqtgraph"})
    assert not heavy, f"importing core.training_events loaded {heavy[:10]}"
    assert report["epochs"] == 2


def test_the_records_are_the_ones_core_produces():
    from meddiag_desktop.core import finetune, pipeline, training, training_events

    assert finetune.FineTuneSpec is training_events.FineTuneSpec and finetune.Comparison is training_events.Comparison
    assert training.FitEnd is training_events.FitEnd and pipeline.TrainedModel is training_events.TrainedModel
