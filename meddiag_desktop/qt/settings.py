"""Window settings, persisted with QSettings in INI format under ``user_config_dir()``.

Values are validated on read: a damaged or hand-edited file gives defaults, never a crash.
QSettings writes the file atomically (QSaveFile: temporary file, fsync, rename) on ``sync()`` and when
it is destroyed, so a kill mid-write leaves the previous file whole (tests/core/test_crash_safety.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from meddiag_desktop.core.device import DEVICE_CHOICES, canonical_device  # torch-free

SCHEMA = 1
FILE_NAME = "meddiag-desktop.ini"
log = logging.getLogger(__name__)
DEFAULT_OPACITY = 0.45


def default_path() -> Path:
    from meddiag_desktop.core.paths import user_config_dir

    return user_config_dir() / FILE_NAME


class Settings:
    """Typed access to the persisted settings (last folder, device, task, overlay, geometry)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._q = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._q.setAtomicSyncRequired(True)  # the default, relied upon: never a half-written file
        if self._q.value("schema") is None:
            self._q.setValue("schema", SCHEMA)

    # ------------------------------------------------------------------ helpers
    def _str(self, key: str, default: str) -> str:
        value = self._q.value(key)
        return value if isinstance(value, str) else default

    def _float(self, key: str, default: float, lo: float, hi: float) -> float:
        try:
            value = float(self._q.value(key, default))
        except (TypeError, ValueError):
            return default
        return min(hi, max(lo, value)) if value == value else default  # NaN -> default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._q.value(key, default)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # ------------------------------------------------------------------ values
    @property
    def schema(self) -> int:
        try:
            return int(self._q.value("schema", SCHEMA))
        except (TypeError, ValueError):
            return SCHEMA

    @property
    def last_folder(self) -> str:
        folder = self._str("files/last_folder", "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self._q.setValue("files/last_folder", str(folder))

    @property
    def device(self) -> str:
        value = canonical_device(self._str("models/device", "auto"))  # older files say "gpu"
        return value if value in DEVICE_CHOICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        value = canonical_device(value)
        if value not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}")
        self._q.setValue("models/device", value)

    @property
    def task(self) -> str | None:
        return self._str("models/task", "") or None

    @task.setter
    def task(self, value: str | None) -> None:
        self._q.setValue("models/task", value or "")

    @property
    def overlay_opacity(self) -> float:
        return self._float("overlay/opacity", DEFAULT_OPACITY, 0.0, 1.0)

    @overlay_opacity.setter
    def overlay_opacity(self, value: float) -> None:
        self._q.setValue("overlay/opacity", round(min(1.0, max(0.0, float(value))), 3))

    @property
    def overlay_visible(self) -> bool:
        return self._bool("overlay/visible", False)

    @overlay_visible.setter
    def overlay_visible(self, value: bool) -> None:
        self._q.setValue("overlay/visible", bool(value))

    @property
    def theme(self) -> str:
        """system | light | dark (Settings → Theme)."""
        value = self._str("appearance/theme", "system")
        return value if value in ("system", "light", "dark") else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in ("system", "light", "dark"):
            raise ValueError("theme must be one of system, light, dark")
        self._q.setValue("appearance/theme", value)

    @property
    def language(self) -> str:
        """system | en | zh_CN (Settings → Language; the code only). Applies at the next start."""
        from .i18n import CHOICES

        value = self._str("appearance/language", "system")
        return value if value in CHOICES else "system"

    @language.setter
    def language(self, value: str) -> None:
        from .i18n import CHOICES

        if value not in CHOICES:
            raise ValueError(f"language must be one of {', '.join(CHOICES)}")
        self._q.setValue("appearance/language", value)

    @property
    def welcome_seen(self) -> bool:
        """The first-start panel was shown (and closed) once."""
        return self._bool("appearance/welcome_seen", False)

    @welcome_seen.setter
    def welcome_seen(self, value: bool) -> None:
        self._q.setValue("appearance/welcome_seen", bool(value))

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._q.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._q.setValue("window/state", value)

    @property
    def splitter_state(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    @splitter_state.setter
    def splitter_state(self, value: QByteArray) -> None:
        self._q.setValue("window/splitter", value)

    def get(self, key: str, default=None):
        """A raw value for a module that validates its own keys (``qt.intake_settings``)."""
        return self._q.value(key, default)

    def put(self, key: str, value) -> None:
        self._q.setValue(key, value)

    def sync(self) -> None:
        self._q.setValue("schema", SCHEMA)
        self._q.sync()
        if self._q.status() == QSettings.Status.AccessError:
            log.warning("settings could not be saved to %s (%s)", self.path.name, self._q.status().name)
