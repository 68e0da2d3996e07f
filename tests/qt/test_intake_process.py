"""The window's intake runs in a child process (``core.child_job``): the DICOM node's listening socket
and its association threads belong to that process, never to the GUI's - so they do not compete
with the GUI thread for its GIL - and stopping the node ends that process."""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from intakekit import copies, send

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc (Linux)")


def _listening_ports(pid: int | str = "self") -> set[int]:
    """Ports of the TCP sockets in LISTEN state that process ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        for line in (path.read_text().splitlines()[1:] if path.exists() else []):
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@needs_proc
def test_the_node_listens_in_a_child_process_and_stopping_it_ends_that_process(window, intake, qtbot, tmp_path):
    assert not multiprocessing.active_children()  # a session opens nothing until the node is started
    assert intake.start_node(intake.settings.with_(port=0, out_dir=str(tmp_path / "intake")))
    qtbot.waitUntil(lambda: intake.status is not None and intake.status.listening is not None, timeout=60_000)
    port = intake.status.port
    children = multiprocessing.active_children()
    assert len(children) == 1 and children[0].pid != os.getpid()
    child = children[0].pid
    assert port in _listening_ports(child)  # the child holds the listening socket ...
    assert port not in _listening_ports()  # ... the GUI process does not
    assert "libQt6" not in Path(f"/proc/{child}/maps").read_text()  # and the child is Qt-free

    (tmp_path / "modality").mkdir()
    assert send(copies("CT_small.dcm", tmp_path / "modality", 2), port) == [0, 0]
    qtbot.waitUntil(lambda: len(intake.panel.model.items) == 2, timeout=60_000)

    intake.stop_node()
    qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)
    assert not multiprocessing.active_children() and not Path(f"/proc/{child}/status").exists()


@needs_proc
def test_closing_the_window_ends_the_intake_process(window, intake, qtbot, tmp_path):
    assert intake.start_node(intake.settings.with_(port=0, out_dir=str(tmp_path / "intake")))
    qtbot.waitUntil(lambda: intake.status is not None and intake.status.listening is not None, timeout=60_000)
    (child,) = multiprocessing.active_children()
    pid = child.pid
    window.close()
    window.shutdown()  # cancels the intake job: the child stops its node and exits, joined
    assert not multiprocessing.active_children() and not Path(f"/proc/{pid}/status").exists()


def test_checking_the_node_options_in_the_gui_thread_loads_no_dicom_library(tmp_path):
    """Start in Settings → DICOM node checks the options in the GUI thread: the allow-list, the
    destination and a routing file are parsed without importing pydicom or pynetdicom (~300 ms)."""
    import json
    import subprocess
    import sys

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": [{"modality": "CR", "task": "pneumonia"}]}), encoding="utf-8")
    code = f"""
import sys
from meddiag_desktop.qt.intake import _check
from meddiag_desktop.qt.intake_settings import IntakeSettings
options = IntakeSettings(allow="CR01@10.0.0.5 PACS", send_to="PACS@10.0.0.9:104", routing_file={str(rules)!r})
assert _check(options) is None, _check(options)
assert _check(options.with_(send_to="nonsense")) is not None
print(sorted(m for m in ("pydicom", "pynetdicom") if m in sys.modules))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
