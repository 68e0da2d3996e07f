"""Layering: ``meddiag_desktop.core`` stays Qt-free (import check, import-linter contracts, source scan);
plus where ``core.paths`` puts bundled resources and user files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import meddiag_desktop
from meddiag_desktop.core import paths

REPO = Path(meddiag_desktop.__file__).resolve().parents[1]
CORE = REPO / "meddiag_desktop" / "core"
QT_ROOTS = ("PySide6", "pyqtgraph", "shiboken6")

_IMPORT_ALL_CORE = r"""
import importlib, json, pkgutil, sys
import meddiag_desktop.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_all_of_core_loads_no_qt():
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALL_CORE], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {f"meddiag_desktop.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__"}
    assert expected <= set(report["imported"]), "pkgutil walk missed core modules"
    assert "meddiag_desktop.core.models.transformer" in report["imported"]
    qt = [m for m in report["loaded"] if m.split(".")[0] in QT_ROOTS]
    assert not qt, f"importing meddiag_desktop.core loaded Qt modules: {qt[:10]}"
    ui = [m for m in report["loaded"] if m.startswith(("meddiag_desktop.qt", "meddiag_desktop.cli"))]
    assert not ui, f"core pulled in the GUI/CLI: {ui}"


# --------------------------------------------------------------------------- import-linter
def _lint_imports(*config_files: str) -> subprocess.CompletedProcess:
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--no-cache", "--no-logo", *config_files], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_import_linter_contracts_in_pyproject_are_kept():
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e .[test])")
    result = _lint_imports()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "0 broken" in output and "core is Qt-free" in output


def test_every_core_module_has_a_layer():
    """The core ``layers`` contract constrains only the modules it names: a new module must join it."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    layered = {c["containers"][0]: {name.strip() for layer in c["layers"] for name in layer.split("|")}
               for c in contracts if c["type"] == "layers"}
    for container, folder in (("meddiag_desktop.core", CORE), ("meddiag_desktop.core.io", CORE / "io"),
                              ("meddiag_desktop.core.metrics", CORE / "metrics"),
                              ("meddiag_desktop.core.dicom_results", CORE / "dicom_results"),
                              ("meddiag_desktop.core.review", CORE / "review"),
                              ("meddiag_desktop.core.intake", CORE / "intake")):
        modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        modules |= {p.parent.name for p in folder.glob("*/__init__.py")}
        assert modules == layered[container], f"{container}: not in the layers contract: {modules - layered[container]}"


# --------------------------------------------------------------------------- source scan
_QT_IMPORT = re.compile(
    r"^\s*(?:from\s+(?:PySide6|pyqtgraph|shiboken6|meddiag_desktop\.(?:qt|cli)|\.\.(?:qt|cli))\b"
    r"|import\s+(?:.*[\s,])?(?:PySide6|pyqtgraph|shiboken6|meddiag_desktop\.(?:qt|cli))\b)"
    r"|(?:import_module|__import__)\(\s*[\"'](?:PySide6|pyqtgraph|shiboken6)",
    re.M,
)


@pytest.mark.parametrize("line", [
    "import PySide6", "from PySide6.QtWidgets import QWidget", "    import pyqtgraph as pg",
    "import os, shiboken6", "from ..qt import main_window", "from meddiag_desktop.cli import main",
    "mod = importlib.import_module('PySide6.QtCore')",
])
def test_qt_import_pattern_catches(line):
    assert _QT_IMPORT.search(line)


@pytest.mark.parametrize("line", ["import os", "# PySide6 is never imported here", "from .models import cnn",
                                  "from ..core import io", 'NOTE = "import PySide6 in the GUI only"'])
def test_qt_import_pattern_ignores(line):
    assert not _QT_IMPORT.search(line)


def test_no_core_source_file_imports_qt():
    files = sorted(CORE.rglob("*.py"))
    assert CORE / "storage.py" in files and CORE / "models" / "cnn.py" in files
    offenders = [f"{f.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}"
                 for f in files for text in [f.read_text(encoding="utf-8")] for m in _QT_IMPORT.finditer(text)]
    assert not offenders, "Qt/GUI imports in core:\n" + "\n".join(offenders)


# --------------------------------------------------------------------------- paths
def test_bundle_root_is_the_source_tree_with_weights_and_resources(monkeypatch):
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    root = paths.bundle_root()
    assert root == REPO
    assert (root / "weights").is_dir() and (root / "resources").is_dir()
    assert paths.shipped_weights_dir() == REPO / "weights"
    assert paths.resource_path("samples", "x.png") == REPO / "resources" / "samples" / "x.png"


def test_bundle_root_honours_pyinstaller_meipass(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.bundle_root() == tmp_path
    assert paths.shipped_weights_dir() == tmp_path / "weights"
    assert paths.resource_path("a.txt") == tmp_path / "resources" / "a.txt"


def test_user_dirs_are_created_under_meddiag_home(monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("MEDDIAG_HOME", str(home))
    dirs = {
        "data": paths.user_data_dir(),
        "models": paths.user_models_dir(),
        "logs": paths.user_log_dir(),
        "config": paths.user_config_dir(),
    }
    for name, path in dirs.items():
        assert path.is_dir(), name
        assert path.resolve().is_relative_to(home.resolve()), (name, path)
    assert dirs["models"].parent == dirs["data"]
    assert len(set(dirs.values())) == 4
