"""core.scan: the folder walk (content sniffing, hidden files, link loops), streaming results and
progress, cancel, and the bounded decode look-ahead. Tiny demo models, generated files only."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from meddiag_desktop.core import scan_decode
from meddiag_desktop.core.inference import Predictor
from meddiag_desktop.core.io import load_image
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.jobs import Progress
from meddiag_desktop.core.scan import ScanResult, scan
from meddiag_desktop.core.walk import iter_image_files, list_image_files
from meddiag_desktop.core.storage import ModelCard, save_model

from testkit import make_scan_folder, png_bytes

GOOD = ["ct.dcm", "good.png", "sub/deeper/ct_no_suffix", "sub/good.jpg"]
BAD = {"empty.png": "empty file", "huge.png": "image too large", "text.png": "not an image",
       "truncated.png": "truncated"}


def demo_predictor(directory, model_id="demo-cnn", **config_kwargs) -> Predictor:
    torch.manual_seed(0)
    config = ModelConfig(arch="cnn", task="demo", labels=("normal", "abnormal"), **config_kwargs)
    card = ModelCard(id=model_id, config=config, demo=True, threshold=0.5, positive_label="abnormal")
    return Predictor(save_model(create_model_from_config(config), card, directory), "cpu")


@pytest.fixture
def predictors(tmp_path):
    """Two models with different inputs (28 px grey, 32 px RGB): two preprocessing configs."""
    models = tmp_path / "models"
    models.mkdir()
    return [demo_predictor(models),
            demo_predictor(models, "demo-rgb", img_size=32, in_chans=3, mean=(0.5,) * 3, std=(0.25,) * 3)]


@pytest.fixture
def folder(tmp_path):
    return make_scan_folder(tmp_path / "scan")


def rel(folder: str, paths) -> list[str]:
    return [os.path.relpath(p, folder).replace(os.sep, "/") for p in paths]


def split(events):
    results = [e for e in events if isinstance(e, ScanResult)]
    progress = [e for e in events if isinstance(e, Progress)]
    assert len(results) + len(progress) == len(events)
    return results, progress


# ---------------------------------------------------------------------------- walk
def test_walk_sniffs_content_skips_hidden_and_non_images_and_survives_a_link_loop(folder):
    files, stats = list_image_files([folder])
    assert rel(folder, files) == [  # sorted, a folder's files before its sub-folders
        "ct.dcm", "empty.png", "good.png", "huge.png", "text.png", "truncated.png", "sub/good.jpg",
        "sub/deeper/ct_no_suffix"]
    assert stats.skipped == 2  # notes.txt, table.csv
    assert stats.hidden == 2  # .hidden.png, .hidden_dir


def test_walk_without_recursion_and_with_explicit_files(folder):
    top = rel(folder, iter_image_files([folder], recursive=False))
    assert top == sorted(["ct.dcm", "good.png", *BAD])
    notes = os.path.join(folder, "notes.txt")
    assert list(iter_image_files([notes, notes])) == [notes]  # named files always count, once
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list(iter_image_files([os.path.join(folder, "missing")]))


# ---------------------------------------------------------------------------- scan
@pytest.mark.parametrize("workers", [0, 2])
def test_scan_gives_one_row_per_file_and_model_with_reasons(folder, predictors, workers):
    results, progress = split(list(scan([folder], predictors, batch_size=3, workers=workers)))
    files, _ = list_image_files([folder])
    assert [r.path for r in results] == [f for f in files for _ in predictors]  # file order, then model
    assert [r.model for r in results] == ["demo-cnn", "demo-rgb"] * len(files)
    for r in results:
        name = rel(folder, [r.path])[0]
        with open(r.path, "rb") as handle:
            assert r.file_sha256 == hashlib.sha256(handle.read()).hexdigest()
        assert r.model_sha256 == next(p.card.sha256 for p in predictors if p.card.id == r.model)
        if name in BAD:
            assert r.status == "error" and BAD[name] in r.error and r.label is None, r
        else:
            assert name in GOOD and r.status == "ok", r
            assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # same numbers as the simple predict path (the one preprocessing function, per model config)
    for p in predictors:
        ours = [r.probabilities["abnormal"] for r in results if r.model == p.card.id and r.status == "ok"]
        good = [f for f in files if rel(folder, [f])[0] in GOOD]
        expected = p.predict_arrays([load_image(f).array for f in good])[:, 1]
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def test_progress_is_monotonic_per_batch_and_ends_with_done_equal_total(folder, predictors):
    events = list(scan([folder], predictors[:1], batch_size=3))
    _, progress = split(events)
    assert isinstance(events[0], Progress) and events[0].done == 0 and events[0].total == 8
    assert len(progress) == 1 + 3  # the start, then once per batch (8 files / 3)
    dones = [p.done for p in progress]
    assert dones == sorted(dones) and all(p.ok + p.errors == p.done for p in progress)
    last = progress[-1]
    assert (last.done, last.total, last.ok, last.errors, last.skipped) == (8, 8, 4, 4, 2)
    assert last.rate > 0 and last.eta_s == 0 and last.elapsed_s > 0
    assert isinstance(events[-1], Progress)


def write_tiny_files(folder, n: int) -> None:
    folder.mkdir(exist_ok=True)
    data = png_bytes()
    for i in range(n):
        (folder / f"{i:05d}.png").write_bytes(data)


def test_cancel_stops_within_one_batch(tmp_path, predictors):
    write_tiny_files(tmp_path / "many", 60)
    cancel, rows_after = threading.Event(), 0
    for event in scan([tmp_path / "many"], predictors, batch_size=4, workers=2, cancel=cancel):
        if cancel.is_set():
            rows_after += isinstance(event, ScanResult)
        elif isinstance(event, Progress) and event.done:
            cancel.set()  # after the first batch
            last = event
    assert last.done == 4 and rows_after == 0  # nothing predicted after the cancel (<= one batch)

    cancel = threading.Event()
    cancel.set()  # already cancelled: the walk stops, nothing is decoded
    assert list(scan([tmp_path / "many"], predictors, cancel=cancel)) == [
        Progress(0, 0, ok=0, errors=0, rate=0.0, eta_s=0.0, elapsed_s=pytest.approx(0, abs=5), skipped=0)]


def test_look_ahead_bounds_the_decoded_images_alive(tmp_path, predictors, monkeypatch):
    """2000 files: at most batch_size * 3 (+ the running workers) decoded but not yet yielded."""
    write_tiny_files(tmp_path / "many", 2000)
    batch, workers = 16, 2
    count = {"loaded": 0, "yielded": 0, "max_alive": 0}
    real_load = scan_decode.load_image

    def counting_load(path, **kwargs):
        count["loaded"] += 1
        count["max_alive"] = max(count["max_alive"], count["loaded"] - count["yielded"])
        return real_load(path, **kwargs)

    monkeypatch.setattr(scan_decode, "load_image", counting_load)
    fast = predictors[0]
    monkeypatch.setattr(fast, "scores", lambda x, statistics=None: (np.full((len(x), 2), 0.5, np.float32), None))
    for event in scan([tmp_path / "many"], [fast], batch_size=batch, workers=workers, workers_kind="thread"):
        if isinstance(event, ScanResult):
            count["yielded"] += 1
    assert count["loaded"] == count["yielded"] == 2000
    assert batch <= count["max_alive"] <= 3 * batch + workers, count


# ---------------------------------------------------------------------------- worker processes
def test_worker_processes_give_the_same_rows_and_leave_no_process_behind(folder, tmp_path, predictors):
    import multiprocessing

    threads = [vars(e) for e in scan([folder], predictors, batch_size=3, workers=2, workers_kind="thread")
               if isinstance(e, ScanResult)]
    processes = [vars(e) for e in scan([folder], predictors, batch_size=3, workers=2, workers_kind="process")
                 if isinstance(e, ScanResult)]
    assert processes == threads
    assert multiprocessing.active_children() == []

    write_tiny_files(tmp_path / "many", 60)
    cancel = threading.Event()
    events = scan([tmp_path / "many"], predictors, batch_size=4, workers=2, workers_kind="process", cancel=cancel)
    for event in events:
        if isinstance(event, Progress) and event.done:
            deadline = time.monotonic() + 30  # the first files may be decoded here while the pool starts
            while not multiprocessing.active_children() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert multiprocessing.active_children()  # the pool is running
            cancel.set()
    assert multiprocessing.active_children() == []  # cancel shut the pool down

    def interrupted(batch, statistics=None):
        raise KeyboardInterrupt

    predictors[0].scores = interrupted  # Ctrl-C lands in the forward of the first batch, done in this process
    with pytest.raises(KeyboardInterrupt):
        list(scan([tmp_path / "many"], predictors, batch_size=4, workers=2, workers_kind="process"))
    assert multiprocessing.active_children() == []


def write_varied_files(folder, n: int) -> None:
    from PIL import Image

    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i:05d}.png")


def slow_here(monkeypatch, batches: list):
    """Forwards done in this process are counted and slowed (the worker processes do not see this
    patch), so the pool starts before this process has done every batch itself."""
    from meddiag_desktop.core import scan as scan_module

    real = scan_module.predict_decoded

    def counted(batch, predictors):
        batches.append(len(batch))
        time.sleep(0.2)
        return real(batch, predictors)

    monkeypatch.setattr(scan_module, "predict_decoded", counted)


@pytest.mark.parametrize("start_method", ["default", "spawn"])
def test_worker_processes_run_the_forward_on_the_scans_batches(tmp_path, predictors, monkeypatch, start_method):
    import multiprocessing

    from meddiag_desktop.core import scan_pool

    if start_method == "spawn":  # Windows, macOS and the frozen app
        monkeypatch.setattr(scan_pool, "process_context", lambda: multiprocessing.get_context("spawn"))
    write_varied_files(tmp_path / "many", 301)
    threads = [vars(e) for e in scan([tmp_path / "many"], predictors, batch_size=8, workers=2, workers_kind="thread")
               if isinstance(e, ScanResult)]
    here: list[int] = []
    slow_here(monkeypatch, here)
    events = list(scan([tmp_path / "many"], predictors, batch_size=8, workers=2, workers_kind="process"))
    processes = [vars(e) for e in events if isinstance(e, ScanResult)]
    assert processes == threads and len(processes) == 2 * 301
    assert 1 <= len(here) < 301 // 8, here  # this process did the first batches, the workers the rest ...
    assert set(here) <= {8, 301 % 8}  # ... on whole batches of the scan
    assert [e.done for e in events if isinstance(e, Progress)][1:-1] == list(range(8, 301, 8))
    assert multiprocessing.active_children() == []


def test_ctrl_c_while_the_workers_predict_stops_the_pool(tmp_path, predictors, monkeypatch):
    import multiprocessing
    import signal
    from contextlib import closing

    # 2000 files: once the pool is up the workers scan 400 such files in ~0.2 s on a quiet machine,
    # which beat a 0.2 s timer; the Ctrl-C now comes 20 ms after the workers took over.
    write_varied_files(tmp_path / "many", 2000)
    here: list[int] = []
    slow_here(monkeypatch, here)
    timer = None
    # Earlier tests in the same run (Ray's, Qt's) may leave another SIGINT handler installed.
    previous_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with closing(scan([tmp_path / "many"], predictors, batch_size=4, workers=2,
                              workers_kind="process")) as events:
                for event in events:
                    if timer is None and multiprocessing.active_children():
                        timer = threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C
                        timer.start()
    finally:
        if timer is not None:
            timer.cancel()  # never a stray Ctrl-C into the next test
            timer.join()
        signal.signal(signal.SIGINT, previous_handler)
    assert multiprocessing.active_children() == []


def test_the_scan_decodes_in_its_own_process_while_the_worker_processes_start(tmp_path, predictors, monkeypatch):
    write_tiny_files(tmp_path / "many", 40)
    here, real_load = [], scan_decode.load_image  # worker processes do not see this patch
    monkeypatch.setattr(scan_decode, "load_image", lambda path, **kw: here.append(path) or real_load(path, **kw))
    processes = [vars(e) for e in scan([tmp_path / "many"], predictors, batch_size=4, workers=2,
                                       workers_kind="process") if isinstance(e, ScanResult)]
    assert here and here == sorted(here)[:len(here)]  # the first files, in order, not after the pool was up
    threads = [vars(e) for e in scan([tmp_path / "many"], predictors, batch_size=4, workers=2, workers_kind="thread")
               if isinstance(e, ScanResult)]
    assert processes == threads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_decode_process_reuses_the_buffers_of_the_previous_file(tmp_path):
    from PIL import Image

    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 65535, (1280, 1024), dtype=np.uint16)).save(path)
    probe = ("import resource, sys\n"
             "from meddiag_desktop.core.scan_decode import decode_file\n"
             "from meddiag_desktop.core.scan_pool import keep_freed_buffers\n"
             "from meddiag_desktop.core.models import ModelConfig\n"
             "if sys.argv[2] == 'keep': keep_freed_buffers()\n"
             "configs = {0: ModelConfig(arch='cnn', task='t', labels=('a', 'b'))}\n"
             "decode_file(sys.argv[1], configs)\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
             "for _ in range(4): assert decode_file(sys.argv[1], configs).error is None\n"
             "print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 4)\n")
    faults = {how: int(subprocess.run([sys.executable, "-c", probe, str(path), how], check=True, text=True,
                                      capture_output=True).stdout) for how in ("default", "keep")}
    pages = 1280 * 1024 * 4 // 4096  # one float32 copy of the image
    assert faults["default"] > pages  # each file's arrays are faulted in afresh ...
    assert faults["keep"] < pages // 4, faults  # ... unless the process keeps them


def test_auto_kind_takes_processes_for_large_files_on_many_cores_or_very_many_small(tmp_path):
    from meddiag_desktop.core.scan_pool import choose_kind, may_choose_processes

    small, large = tmp_path / "s.png", tmp_path / "l.dcm"
    small.write_bytes(b"x" * 1000)
    large.write_bytes(b"x" * 4_000_000)
    assert choose_kind([str(small)] * 500, cores=8) == "thread"
    assert choose_kind([str(small)] * 5000, cores=8) == "process"  # many files: the GIL work moves out
    assert choose_kind([str(large)] * 500, cores=8, buffers_kept=True) == "process"
    assert choose_kind([str(large)] * 500, cores=1) == "thread"
    # on 2 cores two threads decode large files side by side (the GIL is mostly free), with no start-up,
    # where the process keeps freed buffers (meddiag scan); a window does not: its large files go to processes
    assert choose_kind([str(large)] * 500, cores=2, buffers_kept=True) == "thread"
    assert choose_kind([str(large)] * 5000, cores=2, buffers_kept=True) == "thread"
    assert choose_kind([str(large)] * 500, cores=2, buffers_kept=False) == "process"
    assert choose_kind([str(small)] * 5000, cores=2, buffers_kept=True) == "process"
    # the CLI starts the forkserver early only when the walk's first files leave processes possible
    assert not may_choose_processes([str(large)] * 16, cores=2, buffers_kept=True)
    assert may_choose_processes([str(large)] * 16, cores=2, buffers_kept=False)
    assert may_choose_processes([str(large)] * 16, cores=8, buffers_kept=True)
    assert may_choose_processes([str(small)] * 16, cores=2, buffers_kept=True)
    assert not may_choose_processes([str(small)] * 16, cores=1)
    assert choose_kind([str(large)] * 3, cores=8) == "thread"  # start-up would cost more than it saves


def test_batch_results_are_the_single_image_results(predictors):
    """Predictor.results (a scan's rows, in one pass) gives make_result's rows; the operating point is
    compared in the probabilities' float32, as before (a probability equal to float32(threshold) is positive)."""
    from dataclasses import replace

    predictor = predictors[0]
    predictor.card = replace(predictor.card, threshold=0.7)  # float32(0.7) < 0.7: a float64 compare says "normal"
    at = np.float32(0.7)
    probs = np.array([[1 - at, at], [0.9, 0.1], [0.2, 0.8], [np.nextafter(1 - at, 1), np.nextafter(at, 0)]],
                     np.float32)
    ood = np.array([0.5, 1.0, 1.5, 0.99])
    paths = [f"f{i}.png" for i in range(len(probs))]
    batch = predictor.results(paths, (probs, ood), cls=ScanResult)
    assert batch == [predictor.make_result(p, probs[i], ood[i], cls=ScanResult) for i, p in enumerate(paths)]
    assert [r.label for r in batch] == ["abnormal", "normal", None, "normal"]  # the third is outside the data
    assert batch[0].probability == float(at) and batch[2].in_distribution is False
    without_ood = predictor.results(paths, (probs, None))
    assert [r.in_distribution for r in without_ood] == [None] * 4 and without_ood[2].label == "abnormal"


def test_forward_threads_leave_the_decoders_their_cores_and_large_files_go_one_by_one(tmp_path):
    from meddiag_desktop.core.scan_pool import chunk_size, forward_threads

    assert forward_threads("process", 2, cores=2) == 1
    assert forward_threads("process", 3, cores=8) == 5
    assert forward_threads("thread", 2, cores=4) == 3  # decoding threads share one GIL: about one core
    assert forward_threads("thread", 0, cores=4) == 4  # decoded inline: nothing runs beside the forward
    small, large = tmp_path / "s.png", tmp_path / "l.dcm"
    small.write_bytes(b"x" * 1000)
    large.write_bytes(b"x" * 4_000_000)
    assert chunk_size([str(small)] * 100, workers=2, lookahead=64) == 8
    assert chunk_size([str(large)] * 100, workers=2, lookahead=64) == 1


def test_the_forward_goes_to_the_workers_for_small_files_and_loadable_cpu_models(tmp_path, predictors):
    from dataclasses import replace

    from meddiag_desktop.core.scan import forward_in_workers

    small, large = tmp_path / "s.png", tmp_path / "l.dcm"
    small.write_bytes(png_bytes())
    large.write_bytes(b"x" * 4_000_000)
    assert forward_in_workers([str(small)] * 100, predictors)
    assert not forward_in_workers([str(large)] * 100, predictors)  # decode-bound: one file per task, forward here
    unsaved = Predictor.__new__(Predictor)  # a model with no weights file a worker could load
    vars(unsaved).update(vars(predictors[0]), card=replace(predictors[0].card, path=None))
    assert not forward_in_workers([str(small)] * 100, [predictors[0], unsaved])
