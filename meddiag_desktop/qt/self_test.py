"""``meddiag-desktop --self-test``: the real window and workers on the bundled sample, end to end.

Opens ``resources/samples/chest_xray_pneumonia_val0.png`` in the main window (offscreen unless
asked otherwise), lets the worker run every model of the task and the default heat-map, prints each
prediction, checks that a 20 ms timer in the GUI thread never stalled longer than ``max_gap_ms``
while the models ran; then watches a temporary folder holding the sample (File → Watch folder…: the
window's intake, in its own process) until the Inbox shows it analysed - offline, the frozen
app's child process start included; closes the window and checks the worker threads were joined.
Exit status 0 when all is well, 1 with "SELF-TEST FAILED: <reason>" otherwise.
"""
from __future__ import annotations

import logging
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot, qInstallMessageHandler

from .. import __version__
from .display_names import FAMILY_ORDER, family_name, method_name

SAMPLE = "chest_xray_pneumonia_val0.png"
SAMPLE_TASK = "pneumonia"
DEFAULT_MAX_GAP_MS = 250.0


class SelfTestError(Exception):
    pass


def run_queue_ns() -> int | None:
    """How long the calling thread has waited for a CPU, in ns (Linux schedstat; None elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


class GapProbe(QObject):
    """A 20 ms QTimer in the GUI thread; records how late each tick came (event-loop stalls) and, where
    the OS tells (Linux), how much of each gap the GUI thread spent runnable but without a CPU
    (``run_queue``: the machine's load, not this process's doing)."""

    def __init__(self, interval_ms: int = 20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.gaps: list[float] = []
        self.run_queue: list[float] = []  # ms per gap, empty where unknown
        self._last = 0.0
        self._last_queued: int | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self.run_queue.clear()
        self._last = time.perf_counter()
        self._last_queued = run_queue_ns()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    @Slot()
    def _tick(self) -> None:
        now, queued = time.perf_counter(), run_queue_ns()
        self.gaps.append(1000.0 * (now - self._last))
        if queued is not None and self._last_queued is not None:
            self.run_queue.append((queued - self._last_queued) / 1e6)
        self._last, self._last_queued = now, queued

    def own_max_ms(self) -> float:
        """The longest gap less its run-queue wait: the stall the process itself caused (its GIL, the
        GUI thread's work); NaN where the OS does not tell."""
        if len(self.run_queue) != len(self.gaps):
            return math.nan
        return max((gap - queued for gap, queued in zip(self.gaps, self.run_queue)), default=0.0)

    def run_queue_of_max_ms(self) -> float:
        """The run-queue wait within the longest gap (NaN where unknown)."""
        if not self.gaps or len(self.run_queue) != len(self.gaps):
            return math.nan
        return self.run_queue[self.gaps.index(max(self.gaps))]

    @property
    def max_ms(self) -> float:
        return max(self.gaps, default=0.0)

    def percentile(self, q: float) -> float:
        if not self.gaps:
            return 0.0
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` is true (checked every 10 ms) or the timeout."""
    if predicate():
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: (predicate() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    return predicate()


def shipped_models_missing(weights_dir: Path, task: str) -> list[str]:
    return [f"{task}-{arch}" for arch in FAMILY_ORDER
            if not ((weights_dir / f"{task}-{arch}.json").is_file()
                    and (weights_dir / f"{task}-{arch}.safetensors").is_file())]


def run_self_test(store=None, task: str | None = None, sample: str | Path | None = None, device: str = "auto",
                  timeout_s: float = 300.0, max_gap_ms: float = DEFAULT_MAX_GAP_MS,
                  out: Callable[[str], None] | None = None, weights_dir: str | Path | None = None) -> int:
    """Returns the exit status. ``store``/``task`` default to the shipped weights of the sample's task."""
    out = out or _print_and_log
    out(f"MedDiag Desktop {__version__} self-test")
    previous = qInstallMessageHandler(_quiet_qt_messages)
    try:
        _run(store, task, sample, device, timeout_s, max_gap_ms, out, weights_dir)
    except SelfTestError as err:
        out(f"SELF-TEST FAILED: {err}")
        return 1
    finally:
        qInstallMessageHandler(previous)
    out("SELF-TEST PASSED")
    return 0


def _print_and_log(line: str) -> None:
    # A windowed (gui-script) build has no console on Windows: the log keeps the report too.
    print(line, flush=True)
    logging.getLogger(__name__).info("%s", line)


def _quiet_qt_messages(_mode, _context, message: str) -> None:
    # The offscreen platform warns about window size hints it cannot honour; everything else shows.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _run(store, task, sample, device, timeout_s, max_gap_ms, out, weights_dir) -> None:
    from meddiag_desktop.core.paths import resource_path, shipped_weights_dir

    sample = Path(sample) if sample is not None else resource_path("samples", SAMPLE)
    if not sample.is_file():
        raise SelfTestError(f"bundled sample image missing: {sample}")
    if store is None:
        weights = Path(weights_dir) if weights_dir is not None else shipped_weights_dir()
        task = task or SAMPLE_TASK
        missing = shipped_models_missing(weights, task)
        if missing:
            raise SelfTestError(f"shipped weights missing from {weights}: {', '.join(missing)} "
                                "(train them with scripts/train_shipped.py)")
        store = [weights]

    from . import dialogs
    from .app import create_application
    from .main_window import MainWindow
    from .settings import Settings

    from .i18n import install, resolve_language

    language = install(resolve_language("system"), create_application())  # MEDDIAG_LANGUAGE or the system's
    out(f"language: {language}")
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="meddiag-selftest-") as tmp:
        window = MainWindow(store=store, settings=Settings(Path(tmp) / "self-test.ini"), device=device, task=task)
        window.errorReported.connect(lambda title, message, _details: errors.append(f"{title}: {message}"))
        probe = GapProbe(parent=window)
        try:
            with dialogs.unattended():  # errors are collected above, no box waits for a click
                _exercise(window, probe, str(sample.resolve()), errors, timeout_s, max_gap_ms, out)
                _exercise_intake(window, sample, Path(tmp), errors, timeout_s, out)
        finally:
            window.close()
            window.shutdown()
        if window.io_lane.is_thread_running() or window.model_lane.is_thread_running():
            raise SelfTestError("a worker thread is still running after the window closed")
        out("workers: all jobs finished and threads joined")
        window.deleteLater()


def _exercise(window, probe: GapProbe, sample: str, errors: list[str], timeout_s: float, max_gap_ms: float,
              out) -> None:
    def check_errors() -> None:
        if errors:
            raise SelfTestError(errors[0])

    window.resize(1280, 800)
    window.show()
    started = time.perf_counter()
    probe.start()
    window.start()
    if not wait_for(lambda: window.info is not None or bool(errors), timeout_s):
        raise SelfTestError(f"models did not load within {timeout_s:.0f} s")
    check_errors()
    info = window.info
    load_gap = probe.max_ms
    out(f"models: {', '.join(c.id for c in info.cards) or 'none'} on {info.device_label} "
        f"(ready in {time.perf_counter() - started:.1f} s; longest GUI stall while loading {load_gap:.0f} ms)")
    if info.fallback:
        out(f"note: {info.fallback}")
    if info.errors:
        raise SelfTestError("; ".join(f"{k}: {v}" for k, v in info.errors.items()))
    families = {c.config.arch for c in info.cards}
    lacking = [f for f in FAMILY_ORDER if f not in families]
    if lacking:
        raise SelfTestError(f"task {info.task!r} has no {', '.join(lacking)} model")

    probe.start()
    window.set_overlay_enabled(True)
    window.open_files([sample])
    done = wait_for(lambda: bool(errors) or (window.predictions_complete(sample)
                                             and window.viewer is not None and window.viewer.overlay_shown()),
                    timeout_s)
    probe.stop()
    check_errors()
    if not done:
        raise SelfTestError(f"predictions or heat-map not ready within {timeout_s:.0f} s")

    from .model_column import decision_text

    from .viewer_cache import PredictionFailure

    image = window.cache.images[sample]
    out(f"sample: {Path(sample).name} ({image.meta.format}, {image.meta.width}×{image.meta.height})")
    for card in info.cards:
        result = window.cache.results[(sample, card.id)]
        if isinstance(result, PredictionFailure):
            raise SelfTestError(f"{card.id}: {result.text}")
        total = sum(result.probabilities.values())
        if result.status != "ok" or not math.isclose(total, 1.0, abs_tol=1e-3):
            raise SelfTestError(f"{card.id}: bad result {result}")
        probs = ", ".join(f"{k} {v:.3f}" for k, v in result.probabilities.items())
        rule = decision_text(card, result.probabilities) or "top class"
        flag = "  [DEMO - not trained for diagnosis]" if card.demo else ""
        shown = result.summary() if result.refused else f"{result.label:<14} p={result.probability:.3f}"
        out(f"  {card.id:<24} {family_name(card.config.arch):<12} {shown}  ({probs})  {rule}{flag}")
    card_id, method = window.panel.explain_choice()
    heat = window.cache.heatmaps[(sample, card_id, method)]
    if heat.heatmap.shape != image.array.shape[:2] or not (0.0 <= heat.heatmap.min() <= heat.heatmap.max() <= 1.0):
        raise SelfTestError(f"heat-map of {card_id} has a bad shape or range")
    out(f"heat-map: {method_name(method)} of {card_id} for '{heat.target_label}' "
        f"({heat.heatmap.shape[1]}×{heat.heatmap.shape[0]})")
    out(f"event loop: longest gap {probe.max_ms:.0f} ms, p99 {probe.percentile(99):.0f} ms over "
        f"{len(probe.gaps)} ticks of a 20 ms timer (limit {max_gap_ms:.0f} ms)")
    if probe.max_ms > max_gap_ms:
        raise SelfTestError(f"the window froze for {probe.max_ms:.0f} ms (limit {max_gap_ms:.0f} ms)")


def _exercise_intake(window, sample: Path, tmp: Path, errors: list[str], timeout_s: float, out) -> None:
    """Watch a folder holding the sample until the Inbox has it analysed, then stop watching."""
    import shutil

    intake = window.child_windows.open_intake()  # what File → Watch folder… opens
    folder, results = tmp / "watched", tmp / "intake"
    folder.mkdir()
    shutil.copy2(sample, folder / sample.name)
    started = time.perf_counter()
    if not intake.start_watch(str(folder), intake.settings.with_(out_dir=str(results), send_to="",
                                                                   dicom_results=False, routing_file="")):
        raise SelfTestError("the intake did not start")
    model = intake.panel.model
    if not wait_for(lambda: bool(errors) or bool(model.items) or intake.job is None, timeout_s):
        raise SelfTestError(f"the watch folder's item was not analysed within {timeout_s:.0f} s")
    if errors:
        raise SelfTestError(errors[0])
    if not model.items:
        raise SelfTestError("the intake stopped before analysing the watched sample")
    item = model.items[0]
    if item.failed or not item.decisions or any(d.error for d in item.decisions):
        raise SelfTestError(f"the watched sample was not analysed: {item.failed or item.decisions}")
    out(f"intake: watch folder -> {len(item.decisions)} decisions in the Inbox in "
        f"{time.perf_counter() - started:.1f} s (engine in its own process)")
    job = intake.job
    intake.stop_watch()
    if job is not None and not wait_for(lambda: job.done, timeout_s):
        raise SelfTestError("the intake did not stop")
