"""The fine-tune dialog's training panel: live curves (``training_curves``), progress with epoch /
step / ETA, *Stop early* (keeps the best epoch so far and finishes normally) and *Cancel* (discards
the run). It shows the run's events; the dialog runs the job.

Nothing here re-lays out the dialog while a run goes: the progress bar and the labels are painted
(``update()``), and their size does not follow their text (a relayout would resize the plots and
re-generate their axes).
"""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from .i18n import translate
from ..core.training_events import EpochEnd, FitEnd
from .core_text import metric_name
from .jobs.finetune import StepBatch
from .painted_text import PaintedText, ProbabilityBar
from .training_curves import TrainingCurves

FIT_WORDS = {"completed": QT_TRANSLATE_NOOP("FinetuneTraining", "Training finished"), "early_stopped": QT_TRANSLATE_NOOP("FinetuneTraining", "Stopped early (no improvement)"),
             "stopped": QT_TRANSLATE_NOOP("FinetuneTraining", "Stopped by you"), "cancelled": QT_TRANSLATE_NOOP("FinetuneTraining", "Cancelled")}


def eta_text(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class TrainingPanel(QGroupBox):
    stopRequested = Signal()  # "Stop early"
    cancelRequested = Signal()  # "Cancel"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Training"), parent)
        layout = QVBoxLayout(self)
        self.curves = TrainingCurves()
        layout.addWidget(self.curves, 1)
        self.progress = ProbabilityBar()  # not QProgressBar: its setValue() repaints synchronously
        self.progress.setFixedHeight(10)
        layout.addWidget(self.progress)
        row = QHBoxLayout()
        self.progress_label = PaintedText(1)
        row.addWidget(self.progress_label, 1)
        self.stop_button = QPushButton(self.tr("Stop early"))
        self.stop_button.setToolTip(self.tr("Finish now and keep the best epoch so far"))
        self.stop_button.clicked.connect(self.stopRequested)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Discard this run; nothing is saved and the active model stays"))
        self.cancel_button.clicked.connect(self.cancelRequested)
        row.addWidget(self.stop_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.epoch_label = PaintedText(2, wrap=True)
        layout.addWidget(self.epoch_label)
        self.set_running(False)

    def set_running(self, running: bool) -> None:
        self.stop_button.setEnabled(running)
        self.cancel_button.setEnabled(running)

    def set_text(self, text: str) -> None:
        self.progress_label.set_full_text(text)

    def reset(self, epochs: int) -> None:
        """A new run of ``epochs`` epochs."""
        self.curves.reset(epochs)
        self.progress.set_value(0.0)
        self.set_text(self.tr("Preparing the images…"))
        self.epoch_label.set_full_text("")

    def show_steps(self, event: StepBatch, stopping: bool) -> None:
        self.curves.add_steps(event.x, event.loss)
        self.progress.set_value((event.epoch - 1 + event.step / event.steps) / event.epochs)
        if not stopping:
            self.set_text(self.tr("Epoch {epoch}/{epochs} · step {step}/{steps} · loss {loss:.4f} · ETA {eta_text}").format(epoch=event.epoch, epochs=event.epochs, step=event.step, steps=event.steps, loss=event.loss[-1], eta_text=eta_text(event.eta_s)))

    def show_epoch(self, event: EpochEnd) -> None:
        self.curves.add_epoch(event.epoch, event.val_loss, event.metrics, event.is_best)
        scores = " · ".join(f"{metric_name(k)} {v:.3f}" for k, v in event.metrics.items())
        self.epoch_label.set_full_text(self.tr("Epoch {epoch}: train loss {train_loss:.4f}, validation loss {val_loss:.4f} · {scores}{value}").format(epoch=event.epoch, train_loss=event.train_loss, val_loss=event.val_loss, scores=scores, value='  (best so far)' if event.is_best else ''))
        self.progress.set_value(event.epoch / event.epochs)

    def show_fit_end(self, event: FitEnd) -> None:
        self.curves.flush()
        self.set_text(self.tr("{get} after {epochs_run} epoch(s); best epoch {best_epoch}. Evaluating…").format(get=translate("FinetuneTraining", FIT_WORDS.get(event.status, event.status)), epochs_run=event.epochs_run, best_epoch=event.best_epoch))
        self.stop_button.setEnabled(False)
