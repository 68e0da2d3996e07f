"""core.jobs (one cancel protocol, one Progress), core.device.choose, core.loading and core.audited_scan."""
from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
import torch

from meddiag_desktop.core.audit import AuditLog, read_audit
from meddiag_desktop.core.audited_scan import audited_scan
from meddiag_desktop.core.device import DeviceError, canonical_device, choose, cuda_available, resolve_device
from meddiag_desktop.core.jobs import Cancelled, CancelFlag, Progress, any_of, last, raise_if_cancelled
from meddiag_desktop.core.loading import LoadedModels, load_predictors
from meddiag_desktop.core.scan import ScanResult
from meddiag_desktop.core.scan_events import ScanStarted
from testkit import make_scan_folder, save_demo_models


def _loaded_modules(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {m.split(".")[0] for m in json.loads(result.stdout.splitlines()[-1])}


def test_walk_jobs_device_and_scan_events_do_not_import_torch():
    loaded = _loaded_modules("import meddiag_desktop.core.walk, meddiag_desktop.core.jobs, "
                             "meddiag_desktop.core.device, meddiag_desktop.core.scan_events")
    assert "torch" not in loaded


def test_any_of_raise_and_last():
    a, b = threading.Event(), threading.Event()
    either = any_of(a, None, b)
    assert isinstance(either, CancelFlag) and isinstance(a, CancelFlag) and not either.is_set()
    raise_if_cancelled(either)
    raise_if_cancelled(None)
    b.set()
    assert either.is_set() and not any_of().is_set()
    with pytest.raises(Cancelled):
        raise_if_cancelled(either)
    assert last(iter([1, 2, 3])) == 3 and last(iter([])) is None


def test_progress_fraction():
    assert Progress(5, 10).fraction == 0.5 and Progress(3).fraction is None and Progress(12, 10).fraction == 1.0


def test_one_device_vocabulary():
    assert canonical_device("GPU") == "cuda" and canonical_device(None) == "auto" and canonical_device("cpu") == "cpu"
    assert choose("cpu") == (torch.device("cpu"), None)
    assert choose("auto")[1] is None
    with pytest.raises(DeviceError, match="unknown device"):
        choose("tpu")
    if cuda_available():
        pytest.skip("a GPU is present")
    device, reason = choose("gpu")
    assert device == torch.device("cpu") and "No CUDA GPU" in reason
    with pytest.raises(DeviceError, match="CUDA was requested but no CUDA GPU is available"):
        resolve_device("cuda")


def test_load_predictors_raises_or_keeps_going(tmp_path):
    cards = save_demo_models(tmp_path)
    cards[1].weights_path.write_bytes(b"damaged")
    events = list(load_predictors(cards, "cpu", keep_going=True))
    assert [e.done for e in events[:-1]] == [0, 1, 2] and all(e.total == 3 for e in events[:-1])
    loaded = events[-1]
    assert isinstance(loaded, LoadedModels) and loaded.device == torch.device("cpu") and loaded.fallback is None
    assert [p.card.id for p in loaded.predictors] == [cards[0].id, cards[2].id]
    assert list(loaded.errors) == [cards[1].id] and "sha256 mismatch" in loaded.errors[cards[1].id]
    with pytest.raises(Exception, match="sha256 mismatch"):
        last(load_predictors(cards, "cpu"))
    cancel = threading.Event()
    cancel.set()
    assert not any(isinstance(e, LoadedModels) for e in load_predictors(cards, "cpu", cancel=cancel))


def test_audited_scan_checks_the_log_first_and_records_every_row(tmp_path):
    predictors = last(load_predictors(save_demo_models(tmp_path / "models", archs=("cnn",)), "cpu")).predictors
    folder = make_scan_folder(tmp_path / "scan")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the log's folder should be")
    with pytest.raises(OSError):
        audited_scan([folder], predictors, audit=AuditLog(blocked / "audit.jsonl"))
    log = AuditLog(tmp_path / "audit.jsonl")
    events = list(audited_scan([folder], predictors, batch_size=2, audit=log))
    started, rows = events[0], [e for e in events if isinstance(e, ScanResult)]
    assert isinstance(started, ScanStarted) and started.models == (predictors[0].card.id,)
    assert isinstance(events[-1], Progress) and events[-1].done == events[-1].total
    records = read_audit(log.path)
    assert len(records) == len(rows) > 0 and {r["scan_id"] for r in records} == {started.scan_id}
