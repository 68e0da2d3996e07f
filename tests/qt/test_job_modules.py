"""The windows' job modules (qt/jobs/) and display names are plain Python: importing them loads
neither Qt nor torch (the functions import their heavy modules in the worker thread)."""
from __future__ import annotations

import json
import subprocess
import sys

_IMPORT_JOBS = r"""
import importlib, json, pkgutil, sys
import meddiag_desktop.qt.jobs as jobs
names = [m.name for m in pkgutil.walk_packages(jobs.__path__, jobs.__name__ + ".")]
names += ["meddiag_desktop.qt.display_names", "meddiag_desktop.qt.viewer_cache"]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_job_modules_import_neither_qt_nor_torch():
    result = subprocess.run([sys.executable, "-c", _IMPORT_JOBS], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"meddiag_desktop.qt.jobs.viewer", "meddiag_desktop.qt.jobs.scan", "meddiag_desktop.qt.jobs.finetune",
            "meddiag_desktop.qt.jobs.models", "meddiag_desktop.qt.jobs.review"} <= set(report["imported"])
    heavy = {"PySide6", "pyqtgraph", "shiboken6", "torch"}
    loaded = sorted(m for m in report["loaded"] if m.split(".")[0] in heavy)
    assert not loaded, f"importing qt.jobs loaded {loaded[:10]}"
