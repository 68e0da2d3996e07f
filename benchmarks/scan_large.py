"""Benchmark `meddiag scan` on real-size images: files/s against the decode limit of this machine.

``--n`` (default 200) generated 16-bit files of 2048 x 2560 px, half DICOM (uncompressed, ~10 MB)
and half PNG (~7 MB), from the bundled PneumoniaMNIST images upsampled with noise, so decoding costs
what real chest X-rays cost. Measured in the same run:

* the decode limit: cores x the one-core rate of ``load_image`` + ``preprocess`` (+ sha256, as
  the scan does) on the first ``--probe`` files, in this process set up as a decode worker (torch on
  one thread, ``scan_pool.keep_freed_buffers``);
* `meddiag scan` end to end (in-process CLI: walk, decode in worker processes, forward, CSV, audit)
  with ``--workers-kind`` (default auto) -> files/s; goal >= 0.85 x the decode limit;
* the peak RSS of the scan's whole process tree (sampled every 100 ms) and of this process alone;
* CPU per file, which survives other load on the machine: the scan's whole process tree
  (``tree_cpu_ms_per_file``: start-up, decoding, forward, CSV, audit) against the one-core probe's
  (``decode_cpu_ms_per_file``); ``cpu_share`` = probe / tree is the ratio a scan that keeps every core
  busy reaches.

Last line: ``ratio=<scan / decode limit> scan_files_per_s=... decode_limit_files_per_s=... ...``

    python benchmarks/scan_large.py [--n 200] [--workers-kind auto] [--workers N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]  # this checkout first
from scan_throughput import DATASET, TreeRss, pick_model, vm_hwm_mb  # noqa: E402

HEIGHT, WIDTH = 2560, 2048


def large_image(small: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28 px image -> 2560 x 2048 16-bit: bilinear upsampling plus noise (real-file entropy)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(small.astype(np.float32) / 255)[None, None]
    big = F.interpolate(x, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)[0, 0].numpy()
    big = big * 60000 + rng.normal(0, 400, big.shape)
    return np.clip(big, 0, 65535).astype(np.uint16)


def write_dicom(path: Path, pixels: np.ndarray) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PhotometricInterpretation = "OT", "MONOCHROME2"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = pixels.shape[0], pixels.shape[1], 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_large_files(folder: Path, n: int, seed: int = 0) -> list[Path]:
    from PIL import Image

    with np.load(DATASET) as data:
        images = data["val_images"]
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        pixels = large_image(images[i % len(images)], rng)
        path = folder / (f"cxr_{i:04d}.dcm" if i % 2 == 0 else f"cxr_{i:04d}.png")
        if path.suffix == ".dcm":
            write_dicom(path, pixels)
        else:
            Image.fromarray(pixels).save(path, compress_level=1)
        paths.append(path)
    return paths


def one_core_decode_rate(paths: list[Path], model_id: str) -> tuple[float, float]:
    """(files/s, CPU s per file) of the scan's per-file work (sha256, load_image, preprocess) on one
    core, in a process set up as a decode worker is (torch on one thread, freed image buffers kept)."""
    import torch

    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.scan_decode import decode_file, input_configs
    from meddiag_desktop.core.scan_pool import keep_freed_buffers

    torch.set_num_threads(1)
    keep_freed_buffers()
    configs = input_configs([ModelStore().find(model_id)])
    decode_file(str(paths[0]), configs)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        assert decode_file(str(path), configs).error is None
    return len(paths) / (time.perf_counter() - start), (time.process_time() - cpu) / len(paths)


def run_scan(folder: Path, out: Path, model_id: str, extra: list[str]) -> float:
    from meddiag_desktop.cli import main

    start = time.perf_counter()
    code = main(["scan", str(folder), "--out", str(out), "--model", model_id, "--device", "cpu", *extra])
    if code != 0:
        raise SystemExit(f"meddiag scan failed with exit status {code}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="generated files (a smoke run: 20)")
    parser.add_argument("--probe", type=int, default=12, help="files for the one-core decode rate")
    parser.add_argument("--workers-kind", default="auto", choices=("auto", "thread", "process"))
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    from meddiag_desktop.core.scan_pool import usable_cores

    with tempfile.TemporaryDirectory(prefix="meddiag_large_") as tmp:
        tmp = Path(tmp)
        os.environ["MEDDIAG_HOME"] = str(tmp / "home")
        model_id, note = pick_model()
        start = time.perf_counter()
        paths = write_large_files(tmp / "large", args.n)
        print(f"model: {note}; {args.n} files written in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        one_core, decode_cpu_s = one_core_decode_rate(paths[:args.probe], model_id)
        cores = usable_cores()
        extra = ["--workers-kind", args.workers_kind] + (["--workers", str(args.workers)] if args.workers else [])
        with TreeRss() as tree:
            seconds = run_scan(tmp / "large", tmp / "scan.csv", model_id, extra)
    scan_rate, limit = args.n / seconds, cores * one_core
    print(f"ratio={scan_rate / limit:.2f} scan_files_per_s={scan_rate:.2f} decode_limit_files_per_s={limit:.2f} "
          f"one_core_files_per_s={one_core:.2f} cores={cores} peak_rss_tree_mb={tree.peak_mb:.0f} "
          f"peak_rss_main_mb={vm_hwm_mb():.0f} tree_cpu_ms_per_file={1000 * tree.cpu_s / args.n:.1f} "
          f"decode_cpu_ms_per_file={1000 * decode_cpu_s:.1f} cpu_share={decode_cpu_s * args.n / tree.cpu_s:.2f} "
          f"n={args.n} workers_kind={args.workers_kind} model={model_id} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
