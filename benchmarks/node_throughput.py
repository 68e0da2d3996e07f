#!/usr/bin/env python
"""Throughput of the DICOM node against `meddiag scan`, and the window's responsiveness while its
Inbox fills from the node.

    python benchmarks/node_throughput.py [--n 300] [--device cpu] [--associations 1] [--size small|large]
                                         [--modality lean|pynetdicom] [--rounds 1] [--no-window]

``--n`` DICOM instances, analysed by every model of the pneumonia task (shipped weights): with
``--size small`` (default, 300) the bundled 2.5 KB chest X-ray sample with new UIDs, where
pynetdicom's per-C-STORE protocol work in Python dominates; with ``--size large`` (default 100)
``benchmarks/scan_large.py``'s 16-bit 2048 x 2560 px DICOMs (~10 MB, uncompressed), what a real
modality sends (there the node's Inbox window is sent the same files again). Like with like: neither the node nor the scan writes DICOM
results (SR + SC: `meddiag scan` only with --dicom-out, the window's intake only when asked).

1. node: the intake engine in this process with the node on 127.0.0.1 (ephemeral port), as `meddiag
   listen` builds it (``build_engine`` + ``DicomNode``, models loaded first) but without its SR + SC
   (see above); a modality in another process sends every file's bytes as they are (no decode and
   re-encode per data set) in one association (``--associations K``: K associations at once, the
   files dealt out). Instances/s from its first C-STORE to the last ``ItemAnalysed`` (stored,
   analysed, CSV row, audit record, index). The modality is another machine in a clinic; here it
   shares the node's two cores, so by default it is ``lean_modality.py`` (PDUs written straight to
   the socket, ~0.2 ms of CPU per small instance); ``--modality pynetdicom`` sends with a pynetdicom
   SCU instead (``SCU`` below: ~2.3-3.5 ms of Python per small instance taken from the node's cores).
2. scan: `meddiag scan` (in-process CLI main, the same models, default engine) of the same files,
   end to end (includes loading the already cached models: ~0.1 s). Goal: node / scan >= 0.8.
3. window: the main window (offscreen) starts the node from its intake (Settings → DICOM node) on
   an ephemeral port; the SCU sends the same number of fresh instances; a 20 ms QTimer in the GUI
   thread records its longest gap until the Inbox holds all of them. Goal: max gap <= 50 ms. The
   window's intake (node, engine, decoders) runs in a child process (``core.child_job``, since
   session 9): the gap is the GUI process's, which only receives the Inbox batches and statuses;
   the window's rate includes nothing of the child's start (models loaded before the first C-STORE).
   Also printed: the seconds from Start to listening (the child process started, its models
   loaded) and the longest GUI gap meanwhile.

Beside the window's gaps (Linux): how long the longest one waited for a CPU (the GUI thread
runnable, the cores busy - with other sessions' work: the machine's load), and the longest gap less
its run-queue wait - what this process caused itself (GIL waits, the GUI thread's own work).

Supporting figures, which survive load better than rates: CPU ms per instance of the node (its
process, engine included, and the engine's forward worker process, also given alone) and of the
modality (from its first C-STORE), CPU ms per file of the scan, and the median time of the durable
store that every C-STORE waits for before its Success (``IntakeStore.receive``: the file renamed
into place, one flush of the receive journal): one association's C-STOREs pay it one after
another, so it bounds ``node_per_s`` with one association at about 1000 / ``store_ms``; and the node
process's CPU per instance by thread (``thread_cpu.ThreadCpu``, Linux): the association threads (C-STORE
handler: header check, durable store), pynetdicom's reader threads (PDUs off the connection into the
data set), the engine's pool (hashing, decoding large instances) and the rest. The node
starts as a running one is: its forward worker has loaded the models before the first C-STORE.

Everything, audit logs included, goes to a temporary MEDDIAG_HOME. The 1-minute load average is
printed before and after (the figures are only comparable on a quiet machine). The last line is
``key=value``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's package, not another install
TASK = "pneumonia"
SAMPLE = REPO / "resources" / "samples" / "chest_xray_pneumonia_val0.dcm"
MODALITY = "lean"  # --modality: benchmarks/lean_modality.py, or ``SCU`` below (pynetdicom)

# ``--modality pynetdicom``: a pynetdicom SCU run by ``lean_modality.run_modality`` (all associations
# open before the first C-STORE; START, FAILED, CPU as there). It sends each file's bytes as they are
# (pynetdicom's STORE_SEND_CHUNKED_DATASET), as a modality sends what it has encoded, instead of
# decoding and re-encoding every data set on the way out.
SCU = r"""
import sys, time
import pydicom
from pynetdicom import AE, _config
from lean_modality import run_modality
_config.STORE_SEND_CHUNKED_DATASET = True
def connect(port, first_path):
    ds = pydicom.dcmread(first_path, stop_before_pixels=True)
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDDIAG")
    assert assoc.is_established, "no association"
    return assoc
def store(assoc, path):
    status = getattr(assoc.send_c_store(path), "Status", None)
    # pynetdicom 3's requestor race: send_c_store unpauses the association's reactor at its end; if
    # the next one starts before that thread has run, it sees the stale "paused" flag, and the
    # reactor can take the next C-STORE response off the queue ("Received unexpected C-STORE
    # service message"): the sender then waits out its DIMSE timeout and aborts. Wait for the
    # reactor to resume first (only where the flag exists: the pynetdicom this was seen with).
    deadline = time.monotonic() + 1
    while getattr(assoc, "_is_paused", False) and assoc.is_established and time.monotonic() < deadline:
        time.sleep(0.0001)
    return status
sys.exit(run_modality(connect, store, lambda assoc: assoc.release()))
"""


def make_instances(folder: Path, count: int) -> list[str]:
    import pydicom
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(SAMPLE)
    paths = []
    for i in range(count):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = folder / f"instance_{i:05d}.dcm"
        ds.save_as(path)
        paths.append(str(path))
    return paths


def make_large_instances(folder: Path, count: int) -> list[str]:
    """``count`` real-size instances: ``benchmarks/scan_large.py``'s 16-bit 2048 x 2560 px DICOMs
    (uncompressed, ~10 MB; the PneumoniaMNIST images upsampled with noise), each with its own UIDs."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import numpy as np
    from scan_large import DATASET, large_image, write_dicom

    folder.mkdir(parents=True, exist_ok=True)
    with np.load(DATASET) as data:
        images = data["val_images"]
    rng, paths = np.random.default_rng(0), []
    for i in range(count):
        path = folder / f"instance_{i:05d}.dcm"
        write_dicom(path, large_image(images[i % len(images)], rng))
        paths.append(str(path))
    return paths


def send(paths: list[str], port: int, associations: int = 1) -> tuple[float, float]:
    """Run the modality (``MODALITY``); (the wall-clock time of its first C-STORE, its CPU seconds from then)."""
    benchmarks = REPO / "benchmarks"
    program = ["-c", SCU] if MODALITY == "pynetdicom" else [str(benchmarks / "lean_modality.py")]
    path = os.pathsep.join(filter(None, (str(benchmarks), os.environ.get("PYTHONPATH"))))  # SCU imports lean_modality
    result = subprocess.run([sys.executable, *program, str(port), str(associations)], input="\n".join(paths),
                            capture_output=True, text=True, timeout=1800, env={**os.environ, "PYTHONPATH": path})
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    if result.returncode or lines.get("FAILED") != "0":
        raise SystemExit(f"the modality failed:\n{result.stdout}\n{result.stderr}")
    return float(lines["START"]), float(lines["CPU"])


def cpu_seconds(children: bool = False) -> float:
    """This process's CPU time (with ``children``: its finished children's added)."""
    times = os.times()
    return times.user + times.system + (times.children_user + times.children_system if children else 0.0)


def descendants_cpu_seconds() -> float:
    """CPU time of the living processes below this one (Linux /proc; 0 elsewhere): the engine's forward
    worker is a child of the multiprocessing forkserver, so ``os.times`` never counts it."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def below(pid: int) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == os.getpid():
                return True
        return False

    return sum(seconds for pid, seconds in cpu.items() if below(pid))


def store_latency_ms(home: Path, sample: Path = SAMPLE, count: int = 40) -> float:
    """Median time of the durable store each C-STORE waits for before its Success (``IntakeStore.receive``
    of ``sample``: the file, one flush of the receive journal) on the benchmark's disk, one at a time."""
    import statistics

    from meddiag_desktop.core.intake.store import IntakeStore, sha256_bytes

    data, store, times = sample.read_bytes(), IntakeStore(home / "store-probe"), []
    sha = sha256_bytes(data)
    for i in range(count):
        start = time.perf_counter()
        store.receive(f"{i}.dcm", data, sha)
        times.append(time.perf_counter() - start)
    store.checkpoint(force=True)
    return 1000 * statistics.median(times)


def node_thread_kind(thread: threading.Thread) -> str:
    """The node process's threads by what they do (for ``ThreadCpu``)."""
    from pynetdicom.association import Association
    from pynetdicom.dul import DULServiceProvider

    if isinstance(thread, Association):
        return "association"  # C-STORE handler: header check, durable store
    if isinstance(thread, DULServiceProvider):
        return "pynetdicom reader"  # PDUs off the connection into the data set
    if thread.name.startswith("meddiag-intake"):
        return "engine's pool"  # hashing, decoding large instances (the scan does these too)
    return "engine and other"


def node_rate(paths: list[str], predictors, home: Path, associations: int = 1):
    """(instances/s, the node's CPU ms per instance (its process and its forward worker), the modality's
    CPU ms per instance, the forward worker's part, {thread kind: CPU ms per instance} of the node's process)."""
    from thread_cpu import ThreadCpu

    from meddiag_desktop.core.audit import AuditLog
    from meddiag_desktop.core.intake.assembly import build_engine
    from meddiag_desktop.core.intake.events import ItemAnalysed
    from meddiag_desktop.core.intake.node import DicomNode, NodeConfig
    from meddiag_desktop.core.intake.store import IntakeStore
    from meddiag_desktop.core.scan_pool import keep_freed_buffers

    keep_freed_buffers()  # as `meddiag listen` does (cli.intake_run.make_engine); the scan below does it too
    store = IntakeStore(home / "node")
    engine = build_engine(store, predictors, home / "node" / "results.csv", default_task=TASK,
                          audit=AuditLog(home / "node-audit.jsonl"))
    cancel, analysed, last, ended = threading.Event(), [], [0.0], []

    def drive():
        try:
            for event in engine.run(cancel=cancel):
                if isinstance(event, ItemAnalysed):
                    analysed.append(event)
                    last[0] = time.time()
        except BaseException as exc:  # reported below instead of a silent wait
            ended.append(exc)
            raise

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0), store, engine.submit).start()
    if not engine.forward.ready(600):  # a running node: its forward worker has loaded the models
        raise SystemExit("the engine's forward worker did not start")
    cpu, forward_cpu = cpu_seconds(), descendants_cpu_seconds()
    threads = ThreadCpu(node_thread_kind).start()
    try:
        started, modality_cpu = send(paths, node.port, associations)
        deadline = time.monotonic() + 600
        while len(analysed) < len(paths):
            if ended or time.monotonic() > deadline:
                why = f"{ended[0]!r} ended the engine" if ended else "10 min after the last C-STORE"
                raise SystemExit(f"the node analysed {len(analysed)} of {len(paths)} acknowledged instances ({why})")
            time.sleep(0.01)
        node_cpu, forward_cpu = cpu_seconds() - cpu, descendants_cpu_seconds() - forward_cpu
    finally:
        by_kind = threads.stop()
        node.stop()
        cancel.set()
        thread.join(60)
    per_instance = 1000 / len(paths)
    return (len(paths) / (last[0] - started), per_instance * (node_cpu + forward_cpu), per_instance * modality_cpu,
            per_instance * forward_cpu, {kind: per_instance * seconds for kind, seconds in by_kind.items()})


def scan_rate(folder: Path, model_ids: str, device: str, home: Path) -> tuple[float, float]:
    """(files/s, CPU ms per file, its decode processes' included)."""
    import contextlib
    import io

    from meddiag_desktop.cli import main

    out = home / "scan.csv"
    cpu, start = cpu_seconds(children=True), time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["scan", str(folder), "--out", str(out), "--model", model_ids, "--device", device])
    seconds, cpu = time.perf_counter() - start, cpu_seconds(children=True) - cpu
    if code != 0:
        raise SystemExit(f"meddiag scan exited {code}")
    files = len(list(folder.iterdir()))
    return files / seconds, 1000 * cpu / files


def window_gap(paths: list[str], device: str, home: Path, associations: int = 1) -> tuple[float, ...]:
    """(max gap ms, p99 gap ms, instances/s, the longest gap's run-queue wait ms, the longest gap less
    its run-queue wait ms) while the window's Inbox fills from its node; (seconds from Start to
    listening, max gap ms meanwhile)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from meddiag_desktop.qt import dialogs
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.self_test import GapProbe, wait_for
    from meddiag_desktop.qt.settings import Settings

    create_application()
    with dialogs.unattended():
        window = MainWindow(settings=Settings(home / "bench.ini"), device=device, task=TASK)
        window.resize(1440, 900)
        window.show()
        window.start()
        if not wait_for(lambda: window.info is not None and window.viewer is not None, 600):
            raise SystemExit("the window's models did not load")
        intake = window.child_windows.open_intake()
        intake.dock.show()
        probe = GapProbe()
        probe.start()
        asked = time.perf_counter()
        if not intake.start_node(intake.settings.with_(port=0, out_dir=str(home / "window-node"))):
            raise SystemExit("the window's node did not start")
        if not wait_for(lambda: intake.status is not None and intake.status.port, 300):
            raise SystemExit("the window's node is not listening")
        start_s, start_gap = time.perf_counter() - asked, probe.max_ms
        probe.stop()
        print(f"window: the node listened {start_s:.1f} s after Start (its process started, its models loaded); "
              f"GUI timer gaps meanwhile max {start_gap:.0f} ms", flush=True)
        probe.start()
        sender = threading.Thread(target=lambda: started.append(send(paths, intake.status.port, associations)[0]),
                                  daemon=True)
        started: list[float] = []
        sender.start()
        filled = wait_for(lambda: len(intake.panel.model.items) >= len(paths), 1800)
        ended = time.time()
        probe.stop()
        sender.join(60)
        intake.stop_node()
        wait_for(lambda: not intake.lane.busy, 60)
        window.close()
        window.shutdown()
    if not filled or not started:
        raise SystemExit("the Inbox did not fill")
    return (probe.max_ms, probe.percentile(99), len(paths) / (ended - started[0]), probe.run_queue_of_max_ms(),
            probe.own_max_ms(), start_s, start_gap)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="instances per run (default 300; --size large: 100)")
    parser.add_argument("--size", choices=("small", "large"), default="small",
                        help="small: the 2.5 KB sample (per-instance protocol cost); large: ~10 MB 2048 x 2560 "
                             "16-bit instances as a real modality sends")
    parser.add_argument("--no-window", action="store_true", help="skip the window part")
    parser.add_argument("--device", choices=("cpu", "auto"), default="cpu")
    parser.add_argument("--associations", type=int, default=1, help="the modality's associations (default 1)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="node then scan, this many times (each in a folder of its own): the median round's "
                             "ratio, steadier on a noisy machine (default 1)")
    parser.add_argument("--modality", choices=("lean", "pynetdicom"), default="lean",
                        help="lean (default): benchmarks/lean_modality.py, PDUs straight to a socket; pynetdicom: "
                             "a pynetdicom SCU (~3.5 ms of Python per small instance on the node's cores)")
    args = parser.parse_args()
    global MODALITY
    MODALITY = args.modality
    args.n = args.n or (100 if args.size == "large" else 300)
    make = make_large_instances if args.size == "large" else make_instances
    home = Path(tempfile.mkdtemp(prefix="meddiag-bench-"))
    os.environ["MEDDIAG_HOME"] = str(home)

    from meddiag_desktop.core.jobs import last
    from meddiag_desktop.core.loading import load_predictors
    from meddiag_desktop.core.model_store import ModelStore

    cards = ModelStore().resolve("all", TASK)
    predictors = last(load_predictors(cards, args.device)).predictors
    model_ids = ",".join(p.card.id for p in predictors)
    load_before = os.getloadavg()[0]
    print(f"models: {model_ids} on {args.device}; {args.n} {args.size} instances "
          f"({'2048 x 2560 16-bit, ~10 MB' if args.size == 'large' else SAMPLE.name}); "
          f"{args.associations} association(s), {args.modality} modality; load average {load_before:.2f}", flush=True)

    files = home / "modality"
    paths = make(files, args.n)
    make(home / "warm", 4)
    scan_rate(home / "warm", model_ids, args.device, home)  # imports, caches: not measured

    rounds = []  # (ratio, node figures, scan figures) per round: node, then scan, each in a folder of its own
    for number in range(args.rounds):
        round_home = home / f"round{number}"
        node_figures = node_rate(paths, predictors, round_home, args.associations)
        print(f"node: {node_figures[0]:.1f} instances/s received and analysed", flush=True)
        scan_figures = scan_rate(files, model_ids, args.device, round_home)
        print(f"meddiag scan: {scan_figures[0]:.1f} files/s (ratio {node_figures[0] / scan_figures[0]:.2f}, "
              "goal >= 0.8)", flush=True)
        rounds.append((node_figures[0] / scan_figures[0], node_figures, scan_figures))
    ratios = [r[0] for r in rounds]
    _, (node, node_cpu, modality_cpu, forward_cpu, node_threads), (scan, scan_cpu) = sorted(rounds, key=lambda r: r[0])[
        len(rounds) // 2]  # the median round's figures
    if len(rounds) > 1:
        print(f"rounds: ratios {' / '.join(f'{r:.2f}' for r in ratios)}; the median round's figures follow", flush=True)
    store_ms = store_latency_ms(home, Path(paths[0]))
    print(f"CPU per instance: node {node_cpu:.2f} ms (engine and its forward worker ({forward_cpu:.2f}) included) + "
          f"modality {modality_cpu:.2f} ms, "
          f"scan {scan_cpu:.2f} ms per file; durable store before each Success {store_ms:.2f} ms (median): "
          f"one association's C-STOREs wait for it one after another", flush=True)
    if node_threads:
        print("node process CPU per instance by thread: " + ", ".join(
            f"{kind} {ms:.2f} ms" for kind, ms in sorted(node_threads.items(), key=lambda kv: -kv[1])), flush=True)
    nan = float("nan")
    max_gap = p99_gap = window_rate = max_gap_run_queue = own_gap = start_s = start_gap = nan
    if not args.no_window:
        # Fresh UIDs for the small files; the large ones are sent again (the window's node has its own folder).
        window_paths = paths if args.size == "large" else make(home / "window", args.n)
        max_gap, p99_gap, window_rate, max_gap_run_queue, own_gap, start_s, start_gap = window_gap(
            window_paths, args.device, home, args.associations)
        print(f"window: Inbox filled at {window_rate:.1f} instances/s; GUI timer gaps max {max_gap:.0f} ms, "
              f"p99 {p99_gap:.0f} ms (goal: max <= 50 ms); the longest gap waited {max_gap_run_queue:.0f} ms "
              f"for a CPU (the machine's load); longest gap less that wait {own_gap:.0f} ms", flush=True)
    load_after = os.getloadavg()[0]
    print(f"ratio={node / scan:.2f} rounds={len(rounds)} ratios={'/'.join(f'{r:.2f}' for r in ratios)} max_gap_ms={max_gap:.2f} p99_gap_ms={p99_gap:.2f} "
          f"max_gap_run_queue_ms={max_gap_run_queue:.2f} own_max_gap_ms={own_gap:.2f} window_start_s={start_s:.2f} "
          f"start_max_gap_ms={start_gap:.2f} node_per_s={node:.1f} "
          f"scan_per_s={scan:.1f} window_per_s={window_rate:.1f} node_cpu_ms={node_cpu:.2f} forward_cpu_ms={forward_cpu:.2f} modality_cpu_ms={modality_cpu:.2f} "
          f"scan_cpu_ms={scan_cpu:.2f} association_cpu_ms={node_threads.get('association', nan):.2f} "
          f"reader_cpu_ms={node_threads.get('pynetdicom reader', nan):.2f} "
          f"store_ms={store_ms:.2f} n={args.n} size={args.size} associations={args.associations} modality={args.modality} "
          f"load_before={load_before:.2f} load_after={load_after:.2f}")
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
