"""The intake's settings (Settings → DICOM node, File → Watch folder…), validated on read, kept in
the window's settings file under ``intake/``. Never anything from a patient: the "show patient
name / ID" choice is a yes / no, the names themselves are never stored."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .settings import Settings

PREFIX = "intake/"
LIMITS = (("port", 0, 65535), ("max_associations", 1, 64), ("min_free_mb", 0, 1 << 20))  # name, lowest, highest


def default_out_dir() -> str:
    from meddiag_desktop.core.paths import user_data_dir

    return str(user_data_dir() / "intake")


@dataclass(frozen=True)
class IntakeSettings:
    ae_title: str = "MEDDIAG"
    port: int = 11112
    bind: str = "127.0.0.1"  # this machine only, until the user names an interface
    allow: str = ""  # AET or AET@HOST, separated by spaces or commas; empty: any caller
    send_to: str = ""  # AET@HOST:PORT; empty: results stay here
    out_dir: str = ""  # empty: default_out_dir()
    watch_folder: str = ""
    show_identity: bool = False  # patient name / ID in the inbox (never written anywhere)
    max_associations: int = 4  # simultaneous associations the node accepts
    min_free_mb: int = 1024  # below this much free disk the node refuses new data (A700)
    routing_file: str = ""  # JSON rules modality / photometric / body part / folder -> task; empty: none
    dicom_results: bool = False  # write an SR + heat-map SCs per item (always with a destination)

    @property
    def writes_dicom(self) -> bool:
        return self.dicom_results or bool(self.send_to)

    @property
    def allow_list(self) -> tuple[str, ...]:
        return tuple(t for t in self.allow.replace(",", " ").split() if t)

    @property
    def output_folder(self) -> str:
        return self.out_dir or default_out_dir()

    @classmethod
    def load(cls, settings: Settings) -> "IntakeSettings":
        values = {}
        for f in fields(cls):
            default = getattr(cls, f.name)
            raw = settings.get(PREFIX + f.name, default)
            values[f.name] = _coerce(raw, default)
        for name, low, high in LIMITS:
            if not low <= values[name] <= high:
                values[name] = getattr(cls, name)
        return cls(**values)

    def save(self, settings: Settings) -> None:
        for f in fields(self):
            settings.put(PREFIX + f.name, getattr(self, f.name))

    def with_(self, **changes) -> "IntakeSettings":
        return replace(self, **changes)


def _coerce(raw, default):
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on") if isinstance(raw, str) else bool(raw)
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            return default
    return raw if isinstance(raw, str) else default
