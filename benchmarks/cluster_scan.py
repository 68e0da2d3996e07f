"""Benchmark `meddiag scan --engine ray` (the [cluster] extra) on real-size images, on this machine.

The large files of ``scan_large.py`` (``--n`` generated, default 200), scanned ``--repeat`` times over
(default 3: 600 files; hard links and copies). Each engine's run is the in-process CLI end to end (CSV
and audit included); its progress bar's updates are timestamped, so a run's fixed start (a Ray
actor's new process importing torch and Ray Data, Ray Data's own helper actors; a local pool's
workers) and its per-file rate can be told apart:

- steady: files/s over the last ``--steady`` share of the files (default 0.75): the rate once a run has
  started, what a scan of an archive (10^5-10^6 files) sees, where the start is < 1 % of the run;
- end to end: files / seconds of the whole run;
- start: the run's seconds beyond its files at the steady rate.

Each Ray run gets a local Ray cluster of its own (``ray.init(num_cpus=cores)``, workers at nice 0, as
the CLI's own local cluster), started before the run's clock starts, with Ray Data imported
beforehand, so every run measures the engine (its actors' start and model load included) from the
same state. Engines: Ray with 1 actor, Ray with 2 actors, the local process engine with 2 workers.
Goals (on the steady rates, the archive-scale figure; end-to-end ones printed beside them): 2 actors
/ 1 actor >= 1.6, Ray 2 actors / local engine >= 0.8. CPU per file of each run (this process and all
its descendants, Ray's cluster processes included), which survives other load on the machine, is
printed too.

Last line: ``speedup=<ray 2 / ray 1> ray_vs_local=<ray 2 / local> ...`` (steady rates)

    python benchmarks/cluster_scan.py [--n 200] [--repeat 3] [--steady 0.75]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # this checkout first
from scan_large import run_scan, write_large_files  # noqa: E402
from scan_throughput import TreeRss, pick_model  # noqa: E402


def long_folder(folder: Path, files: list[Path], repeat: int) -> Path:
    """``repeat`` x ``files`` in ``folder``: hard links to them, then copies (the scan reads a file
    reached twice once: every copy is a file of its own, with the same pixels)."""
    folder.mkdir()
    for r in range(repeat):
        for path in files:
            target = folder / f"r{r}_{path.name}"
            os.link(path, target) if r == 0 else shutil.copyfile(path, target)
    os.sync()  # the copies on disk before any clock starts
    return folder


class TimedProgress:
    """Timestamps of the CLI's progress bar: (seconds, files done) at each update, while installed."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def __enter__(self):
        import tqdm

        marks, self.real = self.marks, tqdm.tqdm

        class Timed(self.real):
            def update(self, n=1):
                out = super().update(n)
                marks.append((time.perf_counter(), self.n))
                return out

        tqdm.tqdm = Timed
        return self

    def __exit__(self, *exc) -> None:
        import tqdm

        tqdm.tqdm = self.real


def timed_scan(folder: Path, out: Path, model_id: str, extra: list[str], ray_cluster: bool,
               steady: float) -> dict:
    """One in-process `meddiag scan`, on a fresh local Ray cluster if asked: its files/s end to end and
    over the last ``steady`` share of the files, its start (s) and its tree's CPU seconds per file."""
    import ray

    from meddiag_desktop.core.scan_pool import usable_cores

    if ray_cluster:
        # workers at the driver's priority, as the CLI's own local cluster runs them (Ray's default,
        # nice 15, would measure the machine's other load against the local engine, not the engine's cost)
        ray.init(num_cpus=max(2, usable_cores()), include_dashboard=False, log_to_driver=False,
                 _system_config={"worker_niceness": 0})
        time.sleep(2)  # the prestarted worker processes finish starting, as between scans
    try:
        with TreeRss(every_s=None) as tree, TimedProgress() as progress:  # TreeRss: Ray's processes too
            begin = time.perf_counter()
            seconds = run_scan(folder, out, model_id, extra)
    finally:
        if ray_cluster:
            ray.shutdown()
    total = progress.marks[-1][1]
    # the first update at or past the steady part's start, then the last one
    t0, done0 = next((t, n) for t, n in progress.marks if n >= (1 - steady) * total)
    t1, done1 = progress.marks[-1]
    rate = (done1 - done0) / (t1 - t0) if t1 > t0 else float("nan")
    return {"steady": rate, "end_to_end": total / seconds, "start_s": (t1 - begin) - total / rate,
            "cpu_ms": 1000 * tree.cpu_s / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="generated files (a smoke run: 20)")
    parser.add_argument("--repeat", type=int, default=3, help="the runs scan --n x --repeat files")
    parser.add_argument("--steady", type=float, default=0.75, help="the share of the files the steady rate uses")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray.data  # noqa: F401  (imported once here, not inside the first run's clock)

    with tempfile.TemporaryDirectory(prefix="meddiag_cluster_") as tmp:
        tmp = Path(tmp)
        os.environ["MEDDIAG_HOME"] = str(tmp / "home")
        model_id, note = pick_model()
        folder = long_folder(tmp / "long", write_large_files(tmp / "large", args.n), args.repeat)
        count = args.n * args.repeat
        print(f"model: {note}; {count} files ({args.n} generated)", file=sys.stderr)
        runs = {}
        for name, extra in (("ray1", ["--engine", "ray", "--workers", "1"]),
                            ("ray2", ["--engine", "ray", "--workers", "2"]),
                            ("local", ["--workers-kind", "process", "--workers", "2"])):
            runs[name] = timed_scan(folder, tmp / f"{name}.csv", model_id, extra, name.startswith("ray"), args.steady)
            print(f"{name}: " + " ".join(f"{k}={v:.2f}" for k, v in runs[name].items()), file=sys.stderr)
        same = (tmp / "ray2.csv").read_bytes() == (tmp / "local.csv").read_bytes()

    def ratio(a: str, b: str, key: str = "steady") -> str:
        return f"{runs[a][key] / runs[b][key]:.2f}"

    print(f"speedup={ratio('ray2', 'ray1')} ray_vs_local={ratio('ray2', 'local')} "
          f"end_to_end_speedup={ratio('ray2', 'ray1', 'end_to_end')} "
          f"end_to_end_ray_vs_local={ratio('ray2', 'local', 'end_to_end')} "
          + " ".join(f"{k}_files_per_s={v['steady']:.2f}" for k, v in runs.items()) + " "
          + " ".join(f"{k}_start_s={v['start_s']:.1f}" for k, v in runs.items()) + " "
          + " ".join(f"{k}_cpu_ms_per_file={v['cpu_ms']:.1f}" for k, v in runs.items()) + " "
          f"identical_csv={same} n={count} steady_share={args.steady} model={model_id} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
