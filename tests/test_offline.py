"""Offline guarantee: nothing the app does opens a network connection or resolves a host name.

Dynamic: with ``socket.socket``, ``socket.create_connection`` and ``socket.getaddrinfo`` made to
raise (and every attempt recorded), ``meddiag predict``, ``meddiag scan``, ``meddiag train`` and the
GUI self-test all pass; a window with the Inbox and Settings → DICOM node open (a destination
saved) listens and connects nowhere until the node is started; a stopped node's listening socket
is closed. Static: the package source names no network API at all.
"""
from __future__ import annotations

import csv
import json
import os
import re
import socket
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from meddiag_desktop.cli import main  # noqa: E402
# Imported before any socket is blocked: pydicom.pixels -> pydicom.data -> requests -> urllib3,
# whose import probes IPv6 support by creating (and binding to ::1) a local AF_INET6 socket.
# That is a third-party import-time capability check, not network traffic; the app itself never
# downloads (pydicom's get_testdata_file/fetch_data_files are never called, see the static test).
import meddiag_desktop.core.io  # noqa: E402,F401
from meddiag_desktop.core.paths import resource_path  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "meddiag_desktop"
SAMPLES = resource_path("samples")


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Every way into the network raises; the attempts are recorded, so a caller that swallows
    the exception still fails the test."""
    attempts: list[str] = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(f"{name}{args!r}")
            raise NetworkUsed(f"network access attempted: {name}{args!r}")
        return blocked

    real_socket, refuse_socket = socket.socket, refuse("socket.socket")

    def inet_refused(family=-1, *args, **kwargs):
        # A Unix socket is local IPC and cannot reach a network (multiprocessing's forkserver
        # starts with one: the scan's worker processes); every other family is refused.
        if family == socket.AF_UNIX:
            return real_socket(family, *args, **kwargs)
        return refuse_socket(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", inet_refused)
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    yield attempts
    assert attempts == [], attempts


def test_the_fixture_really_blocks(no_network):
    with pytest.raises(NetworkUsed):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkUsed):
        socket.socket()
    with pytest.raises(NetworkUsed):
        socket.create_connection(("example.org", 80))
    with pytest.raises(NetworkUsed):
        socket.getaddrinfo("example.org", 80)
    no_network.clear()


def test_predict_offline(no_network, capsys):
    sample = str(SAMPLES / "chest_xray_pneumonia_val0.png")
    assert main(["predict", sample, "--model", "pneumonia-cnn", "--json", "--device", "cpu"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["status"] == "ok"


def test_scan_of_the_bundled_samples_offline(no_network, tmp_path, capsys):
    out = tmp_path / "samples.csv"
    assert main(["scan", str(SAMPLES), "--out", str(out), "--model", "pneumonia-cnn", "--device", "cpu"]) == 0
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len([p for p in SAMPLES.iterdir() if p.is_file()])
    assert all(r["status"] == "ok" for r in rows), rows


def test_train_offline(no_network, tiny_npz, tmp_path, capsys):
    out_dir = tmp_path / "models"
    assert main(["train", "--data", str(tiny_npz), "--task", "toy", "--arch", "cnn", "--epochs", "1",
                 "--batch-size", "16", "--device", "cpu", "--out", str(out_dir), "--save-as", "toy-cnn"]) == 0
    assert (out_dir / "toy-cnn.safetensors").is_file()


def test_gui_self_test_offline(no_network, qapp, tmp_path):
    """The --self-test logic (real window + workers), with demo models standing in for the
    shipped weights, as tests/qt/test_app_and_settings.py does."""
    from meddiag_desktop.qt.self_test import run_self_test
    from testkit import save_demo_models

    save_demo_models(tmp_path, "pneumonia", ("normal", "pneumonia"), threshold=0.5, positive_label="pneumonia")
    lines: list[str] = []
    assert run_self_test(weights_dir=tmp_path, device="cpu", out=lines.append) == 0, "\n".join(lines)
    assert lines[-1] == "SELF-TEST PASSED"


# ------------------------------------------------------------------------------ static
NETWORK_API = re.compile(r"urlopen|requests|http\.client|urllib\.request|torch\.hub|download=True|socket|get_testdata_file|fetch_data_files")
# (file relative to the package, exact line text) -> why it is not network use
ALLOWED = {
    ("core/walk.py", "if st is None or not stat.S_ISREG(st.st_mode):  # dangling links, sockets, FIFOs"):
        "a comment: the folder walk skips socket *files* (S_ISREG), no network",
    **{("core/intake/node.py", line): "the node's own accepted connection: an immediate-ACK option on it "
       "(TCP_QUICKACK), no socket opened, nothing connected"
       for line in ("import socket", 'quickack = getattr(socket, "TCP_QUICKACK", None)',
                    'return getattr(getattr(assoc.dul, "socket", None), "socket", None)',
                    "sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)")},
    **{("core/intake/node.py", line): "the node's own accepted connection, read in large pieces "
       "(recv_into), no socket opened, nothing connected"
       for line in ('transport = getattr(event.assoc.dul, "socket", None)',
                    'if transport is not None and getattr(transport, "socket", None) is not None:')},
    **{("core/intake/prompt_reactor.py", line): "the node's own accepted connection, waited on with select, "
       "beside a socket pair within the process (socket.socketpair: AF_UNIX on POSIX) that wakes its reader; "
       "nothing connects to another host"
       for line in ("- its reader blocks in ``select`` on the connection and on a wake-up socket pair (up to",
                    "import socket",
                    "wake: socket.socket | None = None  # the pair's reading end; ``wake_writer`` its other end",
                    "wake_writer: socket.socket | None = None", "connection, wake = self.socket, self.wake",
                    'transport = getattr(dul, "socket", None)',
                    'if transport is None or getattr(transport, "socket", None) is None or not '
                    'isinstance(transport, AssociationSocket):',
                    "wake_reader, wake_writer = socket.socketpair()",
                    'transport = getattr(assoc.dul, "socket", None)')},
    ("core/intake/pdu_reader.py", "count = transport.socket.recv_into(view[got:], nr_bytes - got)"):
        "the node's own accepted connection, read into one buffer (recv_into), no socket opened, nothing connected",
}


def test_package_source_names_no_network_api():
    hits = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".pyw", ".json", ".toml", ".cfg", ".txt", ".ini"):
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if NETWORK_API.search(line) and (rel, line.strip()) not in ALLOWED:
                hits.append(f"{rel}:{number}: {line.strip()}")
    assert hits == [], "network API in the package:\n" + "\n".join(hits)
    assert any(p.suffix == ".py" for p in PACKAGE.rglob("*.py"))  # the walk really ran


def test_watch_folder_offline(no_network, tmp_path, capsys):
    """`meddiag watch` (watchdog events, rescans, the intake engine) opens no socket."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.png").write_bytes((SAMPLES / "chest_xray_pneumonia_val0.png").read_bytes())
    out = tmp_path / "watch.csv"
    assert main(["watch", str(folder), "--out", str(out), "--model", "pneumonia-cnn", "--device", "cpu",
                 "--settle", "0.2", "--once"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_only_the_node_and_the_sender_use_the_dicom_network():
    """pynetdicom - the one network library - is imported by the DICOM node (listens only when the
    user runs `meddiag listen`; its reactors wait in ``prompt_reactor``, ``store_response`` encodes its
    C-STORE responses) and the sender (connects only
    to the destination the user names)."""
    users = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                   if re.search(r"^\s*(from|import)\s+pynetdicom", p.read_text(encoding="utf-8"), re.M))
    assert users == ["core/intake/node.py", "core/intake/prompt_reactor.py", "core/intake/sender.py",
                     "core/intake/store_response.py"], users


# ------------------------------------------------------------------------------ the intake
def _own_sockets() -> set[str]:
    """Inodes of the sockets this process holds open (Linux: /proc/self/fd)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _listening_ports() -> set[int]:
    """Ports of the TCP sockets in LISTEN state that this process holds."""
    own, ports = _own_sockets(), set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in own:  # st == TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc (Linux)")


@needs_proc
def test_a_window_with_the_inbox_but_no_node_opens_no_socket(no_network, qtbot, tmp_path):
    """The Inbox dock, Settings → DICOM node shown, a destination saved in the settings: as long as
    the user does not start the node, nothing listens and nothing connects (the window's code is
    qt/intake.py; only a started node listens, only a running intake job sends)."""
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.paths import user_models_dir
    from meddiag_desktop.qt.intake_settings import IntakeSettings
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.settings import Settings
    from testkit import save_demo_models

    save_demo_models(user_models_dir(), archs=("cnn",), threshold=0.5, positive_label="abnormal")
    IntakeSettings(send_to="PACS@127.0.0.1:11112", out_dir=str(tmp_path / "intake")).save(Settings(tmp_path / "s.ini"))
    sockets_before = _own_sockets()
    window = MainWindow(settings=Settings(tmp_path / "s.ini"), store=ModelStore([user_models_dir()]), device="cpu")
    qtbot.addWidget(window)
    try:
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.info is not None and window.viewer is not None, timeout=60_000)
        intake = window.child_windows.open_intake()
        dialog = intake.show_dialog()
        assert intake.settings.send_to == "PACS@127.0.0.1:11112" and dialog.send_to.text() == intake.settings.send_to
        qtbot.wait(500)  # let the session and the dialog settle
        assert intake.job is None and intake.status is None  # no intake job: no node, no sender
        assert _listening_ports() == set() and _own_sockets() <= sockets_before
        assert not intake.lane.busy
    finally:
        window.close()
        window.shutdown()


@needs_proc
def test_stopping_the_node_closes_its_listening_socket(tmp_path):
    """The node listens on 127.0.0.1 only while it runs; once stopped its socket is closed (not
    merely idle) and the port refuses connections."""
    from meddiag_desktop.core.intake.node import DicomNode, NodeConfig
    from meddiag_desktop.core.intake.store import IntakeStore

    sockets_before = _own_sockets()
    assert _listening_ports() == set()
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0), IntakeStore(tmp_path / "intake"), lambda arrival: None)
    node.start()
    try:
        port = node.port
        assert _listening_ports() == {port}
        assert node.server.server_address[0] == "127.0.0.1"  # the safe default bind
    finally:
        node.stop()
    assert _listening_ports() == set()
    assert _own_sockets() <= sockets_before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
