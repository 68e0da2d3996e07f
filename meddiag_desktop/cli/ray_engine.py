"""`meddiag scan --engine ray`: the scan's per-file work on a Ray cluster (the ``[cluster]`` extra).

The only module that imports Ray, lazily (``ray_runner``), never the window or the bundle. The
driver (this process) lists the files, as for a local scan; a Ray Data pipeline
(``from_items`` of the paths -> ``map_batches(ScanActor, ActorPoolStrategy(size=N))``) runs core's
own per-file code in actors that load the models once: ``core.scan_decode.decode_file`` then
``core.scan.predict_decoded``, so rows are the local engine's, byte for byte. Every failure is
caught in the actor and becomes the same error row as locally (Ray's error path would drop whole
blocks). The actors return pickled rows with each file's index; the driver puts them back in file
order and stays the only writer of the CSV and the audit log (``core.audited_scan``).

Shared with the cluster: every node mounts the archive at the same path; shipped models come with
the package each node has installed (checked by sha256), user models are sent by the driver.
Privacy: Ray's usage statistics are off, no dashboard, worker output is not sent to the driver and
nothing here logs a path; paths travel as bytes (``os.fsencode``: any file name, UTF-8 or not).
"""
from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Sequence

from .common import CliError

__all__ = ["MISSING_EXTRA", "ScanActor", "model_shipment", "ray_runner", "task_rows"]

MISSING_EXTRA = ("the Ray engine needs the cluster extra: pip install 'meddiag-desktop[cluster]' "
                 "(or run without --engine ray)")


def _import_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # before the first import of ray
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is part of the extra)
    except ImportError:
        raise CliError(MISSING_EXTRA) from None
    return ray


def model_shipment(predictors) -> list[tuple]:
    """(card, weights bytes or None) per model: None for a shipped model (each node has it)."""
    from ..core.paths import shipped_weights_dir

    shipped = shipped_weights_dir().resolve()
    return [(p.card, None if p.card.path is not None and p.card.path.parent.resolve() == shipped
             else p.card.weights_path.read_bytes()) for p in predictors]


def _load(card, blob: bytes | None, folder: Path):
    from ..core.inference import Predictor
    from ..core.model_store import ModelStore

    if blob is None:
        local = ModelStore().find(card.id)
        if local.sha256 != card.sha256:
            raise RuntimeError(f"model {card.id!r} differs on this node; install the driver's version")
        return Predictor(local, "cpu")
    card = replace(card, path=folder / f"{card.id}.json")
    card.weights_path.write_bytes(blob)
    return Predictor(card, "cpu")  # load_weights checks the sha256 again


class ScanActor:
    """One Ray actor: the models loaded once, then core's decode -> predict per batch of paths."""

    def __init__(self, models: list[tuple]) -> None:
        import torch

        from ..core.scan_decode import input_configs
        from ..core.scan_pool import keep_freed_buffers

        torch.set_num_threads(1)  # one actor per CPU
        keep_freed_buffers()  # as a local decode process: no page faults afresh for every file
        with tempfile.TemporaryDirectory(prefix="meddiag-ray-") as folder:
            self.predictors = [_load(card, blob, Path(folder)) for card, blob in models]
        self.configs = input_configs(self.predictors)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        from ..core.scan import ScanResult, predict_decoded
        from ..core.scan_decode import decode_file

        decoded = [decode_file(os.fsdecode(bytes(path)), self.configs) for path in batch["path"]]
        try:
            rows = predict_decoded(decoded, self.predictors)
        except Exception as err:  # the forward of a whole batch failed: each file gets its error row
            rows = []
            for item in decoded:
                for p in self.predictors:
                    row = p.error_result(item.path, f"could not process image ({type(err).__name__})", cls=ScanResult)
                    row.file_sha256, row.model_sha256 = item.sha256, p.card.sha256 or None
                    rows.append(row)
        n = len(self.predictors)
        per_file = [pickle.dumps(rows[i * n:(i + 1) * n]) for i in range(len(decoded))]
        return {"index": np.asarray(batch["index"]), "rows": np.array(per_file, dtype=object)}


def _connect(ray, address: str | None, workers: int | None) -> bool:
    """Join ``address`` (or start a local cluster); True when this call started Ray."""
    if ray.is_initialized():
        return False
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    if address is None:
        options["num_cpus"] = workers  # None: every core of this machine
        # Ray runs its workers at nice 15 (keeping its daemons responsive on a shared node); on a
        # cluster of this one machine the scan's actors run at the user's priority, as the local engine does
        options["_system_config"] = {"worker_niceness": 0}
    else:
        options["address"] = address
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise CliError(f"cannot reach the Ray cluster {address or '(local)'}: {exc}") from None
    return True


def ray_runner(address: str | None = None, workers: int | None = None):
    """A ``core.scan.BatchRunner`` on Ray: ``workers`` actors (default: the cluster's CPUs)."""
    ray = _import_ray()

    def run(files: Sequence[str], predictors: Sequence, batch_size: int) -> Iterator[list]:
        from ray.data import ActorPoolStrategy, DataContext

        started = _connect(ray, address, workers)
        try:
            context = DataContext.get_current()
            context.enable_progress_bars = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)
            context.execution_options.preserve_order = True
            size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            items = [{"index": i, "path": os.fsencode(f)} for i, f in enumerate(files)]
            rows_per_task = task_rows(files, batch_size, size)
            rows = ray.data.from_items(items, override_num_blocks=-(-len(items) // rows_per_task)).map_batches(
                ScanActor, fn_constructor_kwargs={"models": model_shipment(predictors)},
                compute=ActorPoolStrategy(size=size), num_cpus=1, batch_size=rows_per_task, batch_format="numpy")
            yield from _in_order(rows.iter_batches(batch_size=None, batch_format="numpy"), batch_size)
        finally:
            if started:
                ray.shutdown()

    return run


def task_rows(files: Sequence[str], batch_size: int, actors: int) -> int:
    """Files per Ray task: about four tasks per actor (Ray Data bundles blocks up to the batch size,
    so a batch of 32 small blocks was one task for one actor), at most ``batch_size``, and at most 4
    large files (a task of 2-3 k px images takes ~0.2 s a file: big tasks leave an actor idle at the end)."""
    from ..core.scan_pool import LARGE_FILE_BYTES, median_size

    rows = min(batch_size, -(-len(files) // (4 * actors)))
    size = median_size(files)
    if size is not None and size >= LARGE_FILE_BYTES:
        rows = min(rows, 4)
    return max(1, rows)


def _in_order(batches, batch_size: int) -> Iterator[list]:
    """The actors' per-file rows in file order, ``batch_size`` files per list."""
    waiting: dict[int, bytes] = {}
    next_index, out, files = 0, [], 0
    for batch in batches:
        waiting.update(zip(map(int, batch["index"]), batch["rows"]))
        while next_index in waiting:
            out.extend(pickle.loads(waiting.pop(next_index)))
            next_index, files = next_index + 1, files + 1
            if files == batch_size:
                yield out
                out, files = [], 0
    if out:
        yield out
