"""Benchmark `meddiag scan`: end-to-end files/s against the bare model forward, and memory growth.

1. Peak-RSS growth (VmHWM) of an in-process `meddiag scan` over ``--rss-n`` files (the same few
   PNGs written under many names); goal <= 100 MB.
2. ``--n`` (default 10 000, as the memory run) real 28 px PNGs from
   resources/datasets/pneumoniamnist_trainval.npz (train + val, repeated when N is larger): `meddiag scan` end to end (in-process CLI main: walk, decode,
   preprocess, forward, CSV, audit) against the model forward alone on the same images already
   decoded and preprocessed, same batch size and device, at its best thread count (torch's default
   or 1); goal ratio >= 0.8. The two are run alternately ``--repeat`` times and the best of each is kept.
3. CPU per file, which survives other load on the machine: the scan's whole process tree (its worker
   processes included) against the one-thread forward's; ``cpu_share`` = forward /
   scan (the part of the scan's CPU that is the model forward).

Model: the shipped ``pneumonia-cnn`` when weights/ has it, else a freshly initialised cnn card.
Everything, the audit log included, goes to a temporary MEDDIAG_HOME. The last line is
``key=value`` figures.

    python benchmarks/scan_throughput.py [--n 2000] [--rss-n 10000] [--batch-size 32] [--workers N]
        [--workers-kind auto|thread|process] [--repeat 2]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's package, not another install
DATASET = REPO / "resources" / "datasets" / "pneumoniamnist_trainval.npz"


def vm_hwm_mb() -> float:
    """Peak resident set size of this process (Linux /proc; else getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM := current RSS


class TreeRss:
    """Peak of the summed RSS of this process and all its descendants (Linux /proc), sampled every
    ``every_s`` (None: not sampled), and ``cpu_s``: the CPU seconds the tree used from enter to exit
    (user + system of every process alive at the end, plus that of the children they waited for: a
    scan's worker processes are reaped by the forkserver; less the same sums at the start)."""

    def __init__(self, every_s: float | None = 0.1) -> None:
        self.peak_mb, self.cpu_s, self.every_s, self._stop = 0.0, 0.0, every_s, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start: dict[int, float] = {}

    def __enter__(self):
        self._start = {pid: cpu for pid, (_, cpu) in tree_usage(os.getpid()).items()}
        if self.every_s is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.every_s is not None:
            self._stop.set()
            self._thread.join()
        end = tree_usage(os.getpid())
        self.peak_mb = max(self.peak_mb, sum(rss for rss, _ in end.values()))
        self.cpu_s = sum(cpu for _, cpu in end.values()) - sum(self._start.values())

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, sum(rss for rss, _ in tree_usage(os.getpid()).values()))


def tree_usage(root: int) -> dict[int, tuple[float, float]]:
    """pid -> (RSS MB, CPU s of it and of its waited-for children) of ``root`` and its descendants, from each
    process's one-line /proc/PID/stat (the multi-line status files cost ~10 ms a sample here: a sampler
    holding the GIL slows the scan it measures)."""
    parents, usage = {}, {}
    page_mb, tick_s = os.sysconf("SC_PAGE_SIZE") / 2**20, 1 / os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                text = handle.read()
        except OSError:
            continue
        fields = text[text.rindex(b")") + 2:].split()  # after "pid (comm) ": state, ppid, ... (stat(5) less 2)
        parents[int(entry)] = int(fields[1])
        usage[int(entry)] = (int(fields[21]) * page_mb, sum(map(int, fields[11:15])) * tick_s)  # utime..cstime
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in usage:
            tree[pid] = usage[pid]
        todo += [child for child, parent in parents.items() if parent == pid]
    return tree


def pick_model() -> tuple[str, str]:
    from meddiag_desktop.core.models import ModelConfig, create_model_from_config
    from meddiag_desktop.core.paths import user_models_dir
    from meddiag_desktop.core.storage import ModelCard, save_model
    from meddiag_desktop.core.model_store import ModelStore

    if any(c.id == "pneumonia-cnn" for c in ModelStore().cards()):
        return "pneumonia-cnn", "shipped pneumonia-cnn"
    config = ModelConfig(arch="cnn", task="pneumonia", labels=("normal", "pneumonia"))
    card = ModelCard(id="bench-cnn", config=config, demo=True)
    save_model(create_model_from_config(config), card, user_models_dir())
    return card.id, "freshly initialised cnn (weights/ has no pneumonia-cnn)"


def write_dataset_pngs(folder: Path, n: int) -> list[Path]:
    with np.load(DATASET) as data:
        images = np.concatenate([data["train_images"], data["val_images"]])
    folder.mkdir(parents=True)
    paths = []
    for i in range(n):
        path = folder / f"img_{i:06d}.png"
        Image.fromarray(images[i % len(images)]).save(path)
        paths.append(path)
    return paths


def write_copies(folder: Path, n: int, variants: int = 8) -> None:
    with np.load(DATASET) as data:
        images = data["val_images"][:variants]
    blobs = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        blobs.append(buffer.getvalue())
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"copy_{i:06d}.png").write_bytes(blobs[i % variants])


def run_scan(folder: Path, out: Path, model_id: str, args) -> float:
    from meddiag_desktop.cli import main

    argv = ["scan", str(folder), "--out", str(out), "--model", model_id, "--batch-size", str(args.batch_size),
            "--device", args.device]
    if args.workers is not None:
        argv += ["--workers", str(args.workers)]
    argv += ["--workers-kind", args.workers_kind]
    start = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"meddiag scan failed with exit status {code}")
    return seconds


def forward_files_per_s(paths: list[Path], model_id: str, args) -> tuple[float, float]:
    """The model forward alone (plus the softmax) on already decoded, preprocessed tensors, at its
    best: torch's default thread count or one thread, whichever is faster now (on a loaded machine an
    OpenMP forward whose threads are pre-empted can be ten times slower than one thread); and the CPU
    seconds per file of the one-thread forward (the cheapest in CPU)."""
    import torch

    from meddiag_desktop.core.inference import Predictor
    from meddiag_desktop.core.io import load_image
    from meddiag_desktop.core.model_store import ModelStore

    predictor = Predictor(ModelStore().find(model_id), args.device)
    inputs = torch.stack([predictor.preprocess(load_image(p).array) for p in paths])
    batches = list(torch.split(inputs, args.batch_size))
    default_threads, best, cpu = torch.get_num_threads(), 0.0, 0.0
    try:
        for threads in dict.fromkeys((default_threads, 1)):
            torch.set_num_threads(threads)
            predictor.probabilities(batches[0])  # warm-up
            start, cpu_start = time.perf_counter(), time.process_time()
            for batch in batches:
                predictor.probabilities(batch)
            best = max(best, len(paths) / (time.perf_counter() - start))
            cpu = (time.process_time() - cpu_start) / len(paths)  # the last pass: one thread
    finally:
        torch.set_num_threads(default_threads)
    return best, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000,
                        help="files for the throughput run (the memory run's count: at 2 000 a scan takes ~0.7 s, "
                             "a fifth of it the worker pool's start)")
    parser.add_argument("--rss-n", type=int, default=10_000, help="files for the memory run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: the CLI's)")
    parser.add_argument("--workers-kind", default="auto", choices=("auto", "thread", "process"),
                        help="decode in threads or worker processes (default: the CLI's auto choice)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeat", type=int, default=2, help="throughput runs (best of each is kept)")
    args = parser.parse_args()
    workers = "default" if args.workers is None else args.workers

    with tempfile.TemporaryDirectory(prefix="meddiag_bench_") as tmp:
        tmp = Path(tmp)
        os.environ["MEDDIAG_HOME"] = str(tmp / "home")  # audit log and any fresh model stay here
        model_id, model_note = pick_model()
        print(f"model: {model_note}", file=sys.stderr)

        write_copies(tmp / "rss", 64)  # warm-up: imports, model load, thread pool, torch allocator
        run_scan(tmp / "rss", tmp / "warm.csv", model_id, args)
        write_copies(tmp / "rss_big", args.rss_n)
        reset_peak_rss()
        before = vm_hwm_mb()
        run_scan(tmp / "rss_big", tmp / "rss.csv", model_id, args)
        rss_growth = vm_hwm_mb() - before

        paths = write_dataset_pngs(tmp / "pngs", args.n)
        scan_rate = forward_rate = 0.0
        scan_cpu, forward_cpu = float("inf"), float("inf")
        for _ in range(args.repeat):  # interleaved, best of each: the machine's load drifts
            rate, cpu = forward_files_per_s(paths, model_id, args)
            forward_rate, forward_cpu = max(forward_rate, rate), min(forward_cpu, cpu)
            with TreeRss(every_s=None) as tree:
                scan_rate = max(scan_rate, args.n / run_scan(tmp / "pngs", tmp / "scan.csv", model_id, args))
            scan_cpu = min(scan_cpu, tree.cpu_s / args.n)

    print(f"ratio={scan_rate / forward_rate:.2f} scan_files_per_s={scan_rate:.0f} "
          f"forward_files_per_s={forward_rate:.0f} rss_growth_mb={rss_growth:.1f} "
          f"scan_cpu_ms_per_file={1000 * scan_cpu:.3f} forward_cpu_ms_per_file={1000 * forward_cpu:.3f} "
          f"cpu_share={forward_cpu / scan_cpu:.2f} n={args.n} "
          f"rss_n={args.rss_n} batch_size={args.batch_size} workers={workers} workers_kind={args.workers_kind} "
          f"model={model_id} load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
