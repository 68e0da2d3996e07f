"""Crash safety (issue #9): processes SIGKILLed while they save a model, append to the audit log or
sync the settings. After every kill the previous state or the new one is there, whole: never a
half model, a truncated audit log or a truncated settings file.

Kills hit forked children (instant: no interpreter start-up) at random moments and, deterministically,
just before each file-system step of a save (os.fsync / replace / link / unlink).
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from meddiag_desktop.core.audit import AuditLog, read_audit
from meddiag_desktop.core.inference import Result
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.storage import ModelCard, load_weights, save_model
from meddiag_desktop.core.model_store import ModelStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX)")

CONFIG = ModelConfig(arch="cnn", task="demo", labels=("normal", "abnormal"),
                     arch_kwargs={"widths": [32, 64], "depths": [2, 2]})
FS_STEPS = ("fsync", "replace", "link", "unlink")


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model_from_config(CONFIG).eval()


def _save(model, folder):
    return save_model(model, ModelCard(id="m", config=CONFIG, demo=True), folder)


def _in_child(work, kill_at: int | None = None) -> int:
    """Fork; the child runs ``work()`` (SIGKILLing itself just before file-system step ``kill_at``)."""
    pid = os.fork()
    if pid == 0:
        try:
            if kill_at is not None:
                steps = [0]

                def killing(real):
                    def step(*args, **kwargs):
                        steps[0] += 1
                        if steps[0] == kill_at:
                            os.kill(os.getpid(), signal.SIGKILL)
                        return real(*args, **kwargs)
                    return step

                for name in FS_STEPS:
                    setattr(os, name, killing(getattr(os, name)))
            work()
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    return pid


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _check_model(folder, candidates: dict[str, torch.nn.Module]) -> str:
    """Exactly one model 'm' is listed and loads (its sha checked); returns which candidate it is."""
    (card,) = ModelStore([folder]).cards()
    state = load_weights(card).state_dict()
    same = [name for name, model in candidates.items()
            if all(torch.equal(v, state[k]) for k, v in model.state_dict().items())]
    assert card.id == "m" and len(same) == 1, same
    return same[0]


def _files(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_a_kill_at_each_step_of_an_overwrite_leaves_the_old_or_the_new_model(tmp_path):
    old, new, later = _model(0), _model(1), _model(2)
    outcomes, step = [], 0
    while True:
        step += 1
        folder = tmp_path / f"k{step}"
        _save(old, folder)
        _, status = os.waitpid(_in_child(lambda: _save(new, folder), kill_at=step), 0)
        outcomes.append(_check_model(folder, {"old": old, "new": new}))
        _save(later, folder)  # the next save works and clears whatever the killed one left behind
        assert _files(folder) == {"m.json", "m.safetensors"}
        if not os.WIFSIGNALED(status):
            assert os.WEXITSTATUS(status) == 0
            break
    assert len(outcomes) >= 10, outcomes  # every fsync / rename / link / unlink of the save was a kill point
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert outcomes == sorted(outcomes, reverse=True)  # once the card switched, the new model stays


def test_random_kills_while_a_model_is_saved_over_and_over(tmp_path):
    a, b = _model(0), _model(1)
    start = time.perf_counter()
    _save(a, tmp_path)
    save_s = time.perf_counter() - start
    rng = random.Random(9)

    def forever():
        for i in range(10_000):
            _save((a, b)[i % 2], tmp_path)

    for _ in range(20):
        pid = _in_child(forever)
        time.sleep(rng.uniform(0, 3 * save_s))
        _kill(pid)
        _check_model(tmp_path, {"a": a, "b": b})
    _save(b, tmp_path)
    assert _check_model(tmp_path, {"a": a, "b": b}) == "b"
    assert _files(tmp_path) == {"m.json", "m.safetensors"}


def test_a_card_naming_the_plain_weights_file_still_loads(tmp_path):
    """Shipped cards (weights/) name ``ID.safetensors``: still loaded; overwriting them keeps that name."""
    model = _model(0)
    card = _save(model, tmp_path)
    assert card.weights_file == "m.safetensors"
    _save(_model(1), tmp_path)  # through a staged name and back
    assert _files(tmp_path) == {"m.json", "m.safetensors"}
    assert _check_model(tmp_path, {"old": model, "new": _model(1)}) == "new"



def test_resaving_the_same_weights_after_a_kill_settles_the_staged_name(tmp_path):
    """A kill after the card switched to the staged weights file: saving the same weights again
    keeps them and brings back the plain name."""
    from safetensors.torch import save as safetensors_save

    from meddiag_desktop.core.atomic import atomic_write_json
    from meddiag_desktop.core.storage import read_card, write_model

    model = _model(1)
    blob = safetensors_save({k: v.contiguous() for k, v in model.state_dict().items()})
    card = write_model(blob, ModelCard(id="m", config=CONFIG), tmp_path)
    staged = f"m+{card.sha256[:12]}.safetensors"
    (tmp_path / "m.safetensors").rename(tmp_path / staged)
    atomic_write_json(card.path, dict(card.to_dict(), weights_file=staged))
    assert _check_model(tmp_path, {"m": model}) == "m"  # a staged card loads
    assert write_model(blob, ModelCard(id="m", config=CONFIG), tmp_path).weights_file == "m.safetensors"
    assert _files(tmp_path) == {"m.json", "m.safetensors"} and read_card(card.path).weights_file == "m.safetensors"
    assert _check_model(tmp_path, {"m": model}) == "m"


# --------------------------------------------------------------------------- audit log
def _results(n: int, tag: int) -> list[Result]:
    return [Result(path=f"/nowhere/{tag}-{i}.png", model=f"m{tag}", status="ok", label="normal",
                   probability=0.5, probabilities={"normal": 0.5, "abnormal": 0.5}) for i in range(n)]


def test_killed_audit_appends_never_truncate_earlier_records(tmp_path):
    path = tmp_path / "audit.jsonl"
    AuditLog(path).scan().record(_results(5, 0))
    rng = random.Random(3)
    for kill in range(1, 9):
        before = path.read_bytes()
        records = read_audit(path)

        def append_forever(kill=kill):
            scan = AuditLog(path).scan()
            for _ in range(100_000):
                scan.record(_results(20, kill))

        pid = _in_child(append_forever)
        time.sleep(rng.uniform(0.001, 0.03))
        _kill(pid)
        after = path.read_bytes()
        assert after.startswith(before)  # nothing earlier lost or rewritten
        assert read_audit(path)[:len(records)] == records


def test_a_kill_inside_the_write_tears_only_the_last_line_and_the_next_append_is_whole(tmp_path):
    path = tmp_path / "audit.jsonl"
    AuditLog(path).scan().record(_results(3, 0))
    before = read_audit(path)

    def torn_append():
        os.write = _torn_writer(os.write)
        AuditLog(path).scan().record(_results(4, 1))

    os.waitpid(_in_child(torn_append), 0)
    assert not path.read_bytes().endswith(b"\n")  # really torn
    torn = read_audit(path)
    assert torn[:3] == before and 3 <= len(torn) < 7 and {r["model"] for r in torn[3:]} <= {"m1"}
    AuditLog(path).scan().record(_results(2, 2))  # starts on a fresh line
    records = read_audit(path)
    assert records[:len(torn)] == torn and [r["model"] for r in records[len(torn):]] == ["m2", "m2"]


def _torn_writer(real_write):
    def write(fd, data):
        real_write(fd, bytes(data)[:len(data) // 2 + 7])  # not on a line boundary
        os.kill(os.getpid(), signal.SIGKILL)
    return write


# --------------------------------------------------------------------------- settings
SETTINGS_CHILD = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QByteArray
    from meddiag_desktop.qt.settings import Settings
    settings = Settings(sys.argv[1])
    for i in range(1, 1_000_000):
        settings.task = f"t{i}"
        settings.geometry = QByteArray(bytes([65 + i % 26]) * 400_000)
        settings.sync()
        if i == 1:
            print("ready", flush=True)
""")


def _ini(path) -> tuple[str, int]:
    text = path.read_text(encoding="utf-8")
    task = re.search(r"^task=(t\d+)$", text, re.M)
    geometry = re.search(r"^geometry=@ByteArray\(([A-Z]+)\)$", text, re.M)
    assert task and geometry, text[:200]
    return task.group(1), len(geometry.group(1))


def test_settings_file_survives_kills_during_sync(tmp_path):
    path, old = tmp_path / "meddiag-desktop.ini", tmp_path / "old.ini"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    rng = random.Random(5)
    for _ in range(4):
        child = subprocess.Popen([sys.executable, "-c", SETTINGS_CHILD, str(path)], stdout=subprocess.PIPE,
                                 env=env, text=True)
        assert child.stdout.readline().strip() == "ready"  # after one sync
        if old.exists():  # that sync replaced the file: the old one (kept alive by a link) is untouched
            assert path.stat().st_ino != old.stat().st_ino and _ini(old) == old_values
        time.sleep(rng.uniform(0.005, 0.08))
        child.kill()
        child.wait()
        old_values = _ini(path)  # never empty, never cut short
        assert old_values[0].startswith("t") and old_values[1] == 400_000
        old.unlink(missing_ok=True)
        os.link(path, old)
