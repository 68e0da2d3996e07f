"""Where things live: bundled resources (read-only) and the user's own files (platformdirs).

Resources (``weights/``, ``resources/``) resolve the same way from a source checkout and from a
PyInstaller bundle (``sys._MEIPASS``). User files (models, settings, logs, audit log) go only to the
platformdirs locations, or under ``$MEDDIAG_HOME`` when that is set (tests, portable installs).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "MedDiagDesktop"
APP_AUTHOR = "MedDiag"


def bundle_root() -> Path:
    """The folder holding ``weights/`` and ``resources/``: the bundle when frozen, else the source tree."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parents[2]


def resource_path(*parts: str) -> Path:
    return bundle_root().joinpath("resources", *parts)


def shipped_weights_dir() -> Path:
    return bundle_root() / "weights"


def _user_root(kind: str) -> Path:
    override = os.environ.get("MEDDIAG_HOME")
    if override:
        path = Path(override) / kind
    else:
        getter = {
            "data": platformdirs.user_data_path,
            "config": platformdirs.user_config_path,
            "logs": platformdirs.user_log_path,
        }[kind]
        path = getter(APP_NAME, APP_AUTHOR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    return _user_root("data")


def user_config_dir() -> Path:
    return _user_root("config")


def user_log_dir() -> Path:
    return _user_root("logs")


def user_models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
