"""Benchmark `meddiag scan --engine ray` (the [cluster] extra) on real-size images, on this machine.

The large files of ``scan_large.py`` (``--n``, default 200). Each Ray run gets a local Ray cluster of
its own (``ray.init(num_cpus=cores)``, workers at nice 0, as the CLI's own local cluster), started
before the run's clock starts, with Ray Data imported beforehand, so every run measures the engine
(its actors' start and model load included) from the same state: the worker processes a new cluster
prestarts (one cluster for all runs handed them to the first run only: the next one started its
actors' processes from scratch, ~1-3 s inside its clock). Runs, in order: Ray with 1 actor, Ray with
2 actors, the local process engine with 2 workers; each is the in-process CLI end to end (CSV and
audit included). Goals: 2 actors / 1 actor >= 1.6, Ray 2 actors / local engine >= 0.8. CPU per file of
each run (this process and all its descendants, Ray's cluster processes included, from the run's start
to its end), which survives other load on the machine, is printed beside the rates.

Last line: ``speedup=<ray 2 / ray 1> ray_vs_local=<ray 2 / local> ...``

    python benchmarks/cluster_scan.py [--n 200]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # this checkout first
from scan_large import run_scan, write_large_files  # noqa: E402
from scan_throughput import TreeRss, pick_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="generated files (a smoke run: 20)")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    import ray.data  # noqa: F401  (imported once here, not inside the first run's clock)

    from meddiag_desktop.core.scan_pool import usable_cores

    with tempfile.TemporaryDirectory(prefix="meddiag_cluster_") as tmp:
        tmp = Path(tmp)
        os.environ["MEDDIAG_HOME"] = str(tmp / "home")
        model_id, note = pick_model()
        write_large_files(tmp / "large", args.n)
        print(f"model: {note}; {args.n} files", file=sys.stderr)
        rates, cpu = {}, {}
        for name, extra in (("ray1", ["--engine", "ray", "--workers", "1"]),
                            ("ray2", ["--engine", "ray", "--workers", "2"]),
                            ("local", ["--workers-kind", "process", "--workers", "2"])):
            if name.startswith("ray"):
                start = time.perf_counter()
                # workers at the driver's priority, as the CLI's own local cluster runs them (Ray's default,
                # nice 15, would measure the machine's other load against the local engine, not the engine's cost)
                ray.init(num_cpus=max(2, usable_cores()), include_dashboard=False, log_to_driver=False,
                         _system_config={"worker_niceness": 0})
                time.sleep(2)  # the prestarted worker processes finish starting, as between scans
                print(f"{name}: cluster started in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            try:
                with TreeRss(every_s=None) as tree:  # this process and its descendants: Ray's too
                    rates[name] = args.n / run_scan(tmp / "large", tmp / f"{name}.csv", model_id, extra)
                cpu[name] = tree.cpu_s / args.n
            finally:
                ray.shutdown()
        same = (tmp / "ray2.csv").read_bytes() == (tmp / "local.csv").read_bytes()
    print(f"speedup={rates['ray2'] / rates['ray1']:.2f} ray_vs_local={rates['ray2'] / rates['local']:.2f} "
          f"ray1_files_per_s={rates['ray1']:.2f} ray2_files_per_s={rates['ray2']:.2f} "
          f"local_files_per_s={rates['local']:.2f} ray1_cpu_ms_per_file={1000 * cpu['ray1']:.1f} "
          f"ray2_cpu_ms_per_file={1000 * cpu['ray2']:.1f} local_cpu_ms_per_file={1000 * cpu['local']:.1f} "
          f"identical_csv={same} n={args.n} model={model_id} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
