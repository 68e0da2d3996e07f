"""Benchmark `meddiag scan --engine ray` (the [cluster] extra) on real-size images, on this machine.

The large files of ``scan_large.py`` (``--n`` generated, default 200). Each engine scans two folders:
a short run (the ``--n`` files) and a long one (``--repeat`` x ``--n`` files, default 600: hard links
and copies), so a run's fixed start (a Ray actor's new process importing torch and Ray Data, Ray
Data's own helper actors; a local pool's workers) and the per-file rate can be told apart:

- end to end: files / seconds of the long run;
- marginal: (long - short files) / (long - short seconds): the rate once a run has started, which is
  what a scan of an archive (10^5-10^6 files) sees: there the start is < 1 % of the run;
- start: seconds of the long run beyond its files at the marginal rate.

Each Ray run gets a local Ray cluster of its own (``ray.init(num_cpus=cores)``, workers at nice 0, as
the CLI's own local cluster), started before the run's clock starts, with Ray Data imported
beforehand, so every run measures the engine (its actors' start and model load included) from the
same state. Engines: Ray with 1 actor, Ray with 2 actors, the local process engine with 2 workers;
each run is the in-process CLI end to end (CSV and audit included). Goals (on the marginal rates,
the archive-scale figure; end-to-end ones printed beside them): 2 actors / 1 actor >= 1.6, Ray 2
actors / local engine >= 0.8. CPU per file of each long run (this process and all its descendants,
Ray's cluster processes included), which survives other load on the machine, is printed too.

Last line: ``speedup=<ray 2 / ray 1> ray_vs_local=<ray 2 / local> ...`` (marginal rates)

    python benchmarks/cluster_scan.py [--n 200] [--repeat 3]
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


def timed_scan(folder: Path, out: Path, model_id: str, extra: list[str], ray_cluster: bool) -> tuple[float, float]:
    """(seconds, tree CPU seconds) of one in-process `meddiag scan`, on a fresh local Ray cluster if asked."""
    import ray

    from meddiag_desktop.core.scan_pool import usable_cores

    if ray_cluster:
        # workers at the driver's priority, as the CLI's own local cluster runs them (Ray's default,
        # nice 15, would measure the machine's other load against the local engine, not the engine's cost)
        ray.init(num_cpus=max(2, usable_cores()), include_dashboard=False, log_to_driver=False,
                 _system_config={"worker_niceness": 0})
        time.sleep(2)  # the prestarted worker processes finish starting, as between scans
    try:
        with TreeRss(every_s=None) as tree:  # this process and its descendants: Ray's too
            seconds = run_scan(folder, out, model_id, extra)
        return seconds, tree.cpu_s
    finally:
        if ray_cluster:
            ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="generated files (a smoke run: 20)")
    parser.add_argument("--repeat", type=int, default=3, help="the long run scans --n x --repeat files")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray.data  # noqa: F401  (imported once here, not inside the first run's clock)

    short_n, long_n = args.n, args.n * args.repeat
    with tempfile.TemporaryDirectory(prefix="meddiag_cluster_") as tmp:
        tmp = Path(tmp)
        os.environ["MEDDIAG_HOME"] = str(tmp / "home")
        model_id, note = pick_model()
        files = write_large_files(tmp / "large", args.n)
        short, long = tmp / "large", long_folder(tmp / "long", files, args.repeat)
        print(f"model: {note}; {args.n} files, runs of {short_n} and {long_n}", file=sys.stderr)
        end_to_end, marginal, start_s, cpu = {}, {}, {}, {}
        for name, extra in (("ray1", ["--engine", "ray", "--workers", "1"]),
                            ("ray2", ["--engine", "ray", "--workers", "2"]),
                            ("local", ["--workers-kind", "process", "--workers", "2"])):
            is_ray = name.startswith("ray")
            short_s, _ = timed_scan(short, tmp / f"{name}_short.csv", model_id, extra, is_ray)
            long_s, cpu_s = timed_scan(long, tmp / f"{name}.csv", model_id, extra, is_ray)
            end_to_end[name], cpu[name] = long_n / long_s, cpu_s / long_n
            # the long run no slower than the short one: no rate to tell (a smoke run's few files)
            marginal[name] = (long_n - short_n) / (long_s - short_s) if long_s > short_s else float("nan")
            start_s[name] = long_s - long_n / marginal[name]
            print(f"{name}: {short_n} files {short_s:.1f} s, {long_n} files {long_s:.1f} s", file=sys.stderr)
        same = (tmp / "ray2.csv").read_bytes() == (tmp / "local.csv").read_bytes()
    print(f"speedup={marginal['ray2'] / marginal['ray1']:.2f} ray_vs_local={marginal['ray2'] / marginal['local']:.2f} "
          f"end_to_end_speedup={end_to_end['ray2'] / end_to_end['ray1']:.2f} "
          f"end_to_end_ray_vs_local={end_to_end['ray2'] / end_to_end['local']:.2f} "
          + " ".join(f"{k}_files_per_s={marginal[k]:.2f}" for k in marginal) + " "
          + " ".join(f"{k}_start_s={start_s[k]:.1f}" for k in start_s) + " "
          + " ".join(f"{k}_cpu_ms_per_file={1000 * cpu[k]:.1f}" for k in cpu) + " "
          f"identical_csv={same} n={long_n} model={model_id} load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
