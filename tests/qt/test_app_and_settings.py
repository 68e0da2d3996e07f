"""Settings persistence, start-up cost, the entry point, the self-test and the log's privacy."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from meddiag_desktop.qt.settings import DEFAULT_OPACITY, Settings


def test_settings_round_trip_and_bad_values_give_defaults(qapp, tmp_path):
    path = tmp_path / "s.ini"
    settings = Settings(path)
    settings.last_folder = str(tmp_path)
    settings.device = "cpu"
    settings.task = "breast"
    settings.overlay_opacity = 0.7
    settings.overlay_visible = True
    settings.sync()
    del settings
    again = Settings(path)
    assert (again.last_folder, again.device, again.task) == (str(tmp_path), "cpu", "breast")
    assert again.overlay_opacity == pytest.approx(0.7) and again.overlay_visible and again.schema == 1
    with pytest.raises(ValueError):
        again.device = "tpu"

    path.write_text("[models]\ndevice=quantum\n[overlay]\nopacity=lots\nvisible=maybe\n[files]\n"
                    "last_folder=/no/such/folder\n", encoding="utf-8")
    broken = Settings(path)
    assert broken.device == "auto" and broken.overlay_opacity == DEFAULT_OPACITY
    assert broken.overlay_visible is False and broken.geometry is None
    assert broken.last_folder != "/no/such/folder"


def test_default_settings_file_lives_in_the_user_config_dir(qapp, isolated_user_dirs):
    settings = Settings()
    settings.sync()
    assert settings.path.is_file() and settings.path.is_relative_to(isolated_user_dirs)


def _imports_after(statement: str) -> dict:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_entry_point_and_first_paint_path_stay_light():
    heavy = ("torch", "numpy", "pyqtgraph", "pydicom", "PIL")
    loaded = _imports_after("import meddiag_desktop.__main__")
    assert not {m.split(".")[0] for m in loaded} & {"PySide6", *heavy}
    loaded = _imports_after("import meddiag_desktop.qt.app, meddiag_desktop.qt.main_window")
    assert not {m.split(".")[0] for m in loaded} & set(heavy), "the window's first paint must not wait for these"


def test_version_and_help_exit_cleanly(capsys):
    from meddiag_desktop.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and "meddiag-desktop" in capsys.readouterr().out


def test_self_test_runs_all_three_models_through_the_worker(qapp, tmp_path):
    """The shipped-weights path of --self-test, with demo models standing in for weights/pneumonia-*."""
    from meddiag_desktop.qt.self_test import run_self_test
    from testkit import save_demo_models

    save_demo_models(tmp_path, "pneumonia", ("normal", "pneumonia"), threshold=0.62, positive_label="pneumonia")
    lines: list[str] = []
    assert run_self_test(weights_dir=tmp_path, device="cpu", out=lines.append) == 0, "\n".join(lines)
    text = "\n".join(lines)
    for model in ("pneumonia-cnn", "pneumonia-rnn", "pneumonia-transformer"):
        assert any(line.strip().startswith(model) and "p=" in line and "0.62 →" in line for line in lines), text
    assert "heat-map: Grad-CAM" in text and "event loop: longest gap" in text and "threads joined" in text
    assert lines[-1] == "SELF-TEST PASSED"


def test_self_test_fails_with_the_reason_when_shipped_weights_are_missing(qapp, tmp_path):
    from meddiag_desktop.qt.self_test import run_self_test

    lines: list[str] = []
    assert run_self_test(weights_dir=tmp_path, out=lines.append) == 1
    assert lines[-1].startswith("SELF-TEST FAILED: shipped weights missing")
    assert "pneumonia-cnn, pneumonia-rnn, pneumonia-transformer" in lines[-1]


def test_self_test_fails_when_a_family_is_missing(qapp, demo_store):
    from meddiag_desktop.core.paths import user_models_dir
    from meddiag_desktop.qt.self_test import run_self_test

    (user_models_dir() / "demo-rnn.json").unlink()
    lines: list[str] = []
    assert run_self_test(store=[user_models_dir()], task="demo", device="cpu", out=lines.append) == 1
    assert lines[-1] == "SELF-TEST FAILED: task 'demo' has no rnn model"


@pytest.mark.parametrize("text, expected", [
    ("cannot read /data/Patients/Smith_John/img001.dcm", "cannot read img001.dcm"),
    (r"failed on C:\Users\jdoe\Scans\chest.png: bad", "failed on chest.png: bad"),
    ('File "/usr/lib/python3/site.py", line 3', 'File "site.py", line 3'),
    ("ratio 3/4 and model pneumonia-cnn", "ratio 3/4 and model pneumonia-cnn"),
])
def test_log_lines_keep_basenames_only(text, expected):
    from meddiag_desktop.qt.app import redact_paths

    assert redact_paths(text) == expected
