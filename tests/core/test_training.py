"""fit(): events, cancel within one batch, stop keeps the best epoch, early stopping, determinism."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from meddiag_desktop.core.data import TensorDataset, load_npz
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.training import TrainConfig, class_weights, fit
from meddiag_desktop.core.training_events import EpochEnd, FitEnd, StepEnd

CONFIG = ModelConfig(arch="cnn", task="toy", labels=("a", "b"), arch_kwargs={"widths": (4, 8, 8, 8)})


@pytest.fixture
def sets(tiny_npz):
    train = TensorDataset(load_npz(tiny_npz, "train"), CONFIG)
    val = TensorDataset(load_npz(tiny_npz, "val"), CONFIG)
    return train, val


def run(sets, cfg, **kw):
    torch.manual_seed(0)
    model = create_model_from_config(CONFIG)
    return model, list(fit(model, *sets, cfg, **kw))


def test_fit_yields_steps_epochs_and_a_final_event(sets):
    cfg = TrainConfig(epochs=2, batch_size=16, device="cpu", patience=0)
    _, events = run(sets, cfg)
    steps = [e for e in events if isinstance(e, StepEnd)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert len(steps) == 2 * 4 and [e.epoch for e in epochs] == [1, 2]
    assert all(np.isfinite(e.loss) and e.eta_s >= 0 for e in steps)
    assert {"accuracy", "auc", "sensitivity", "specificity"} <= set(epochs[0].metrics)
    end = events[-1]
    assert isinstance(end, FitEnd) and end.status == "completed"
    assert end.val_logits.shape == (32, 2) and len(end.history) == 2


def test_learns_the_toy_task(sets):
    _, events = run(sets, TrainConfig(epochs=6, batch_size=16, lr=5e-3, device="cpu", patience=0))
    assert events[-1].history[-1]["auc"] > 0.9


def test_cancel_stops_within_one_batch_and_restores_initial_weights(sets):
    cancel = threading.Event()
    torch.manual_seed(0)
    model = create_model_from_config(CONFIG)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    for event in fit(model, *sets, TrainConfig(epochs=3, batch_size=16, device="cpu"), cancel=cancel):
        seen.append(event)
        if isinstance(event, StepEnd) and event.step == 2:
            cancel.set()
    assert sum(isinstance(e, StepEnd) for e in seen) == 2  # no further batch ran
    assert isinstance(seen[-1], FitEnd) and seen[-1].status == "cancelled"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_stop_restores_best_epoch_and_finishes_normally(sets):
    stop = threading.Event()
    torch.manual_seed(0)
    model = create_model_from_config(CONFIG)
    best_state = None
    for event in fit(model, *sets, TrainConfig(epochs=5, batch_size=16, device="cpu", patience=0), stop=stop):
        if isinstance(event, EpochEnd):
            if event.is_best:
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            if event.epoch == 2:
                stop.set()
        end = event
    assert end.status == "stopped" and end.epochs_run == 2
    assert all(torch.equal(best_state[k], v) for k, v in model.state_dict().items())


def test_early_stopping_with_patience(sets):
    # lr 0: only batch-norm statistics move, so validation stops improving within a few epochs
    _, events = run(sets, TrainConfig(epochs=30, batch_size=16, lr=0.0, device="cpu", patience=2))
    end = events[-1]
    assert end.status == "early_stopped" and end.epochs_run == end.best_epoch + 2 < 30


def test_same_seed_same_result(sets):
    cfg = TrainConfig(epochs=1, batch_size=16, device="cpu")
    a = run(sets, cfg)[1][-1].val_logits
    b = run(sets, cfg)[1][-1].val_logits
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_class_weights_balance_an_imbalanced_set():
    w = class_weights(torch.tensor([0, 0, 0, 1]), 2)
    assert w[1] / w[0] == pytest.approx(3.0)


def test_ema_weights_are_the_ones_validated_and_kept(sets):
    torch.manual_seed(0)
    model = create_model_from_config(CONFIG)
    cfg = TrainConfig(epochs=6, batch_size=16, lr=5e-3, device="cpu", patience=0, ema_decay=0.8)
    end = list(fit(model, *sets, cfg))[-1]
    assert end.history[-1]["auc"] > 0.9
    model.eval()
    with torch.no_grad():
        logits = model(torch.stack([sets[1][i][0] for i in range(len(sets[1]))])).numpy()
    np.testing.assert_allclose(logits, end.val_logits, rtol=1e-4, atol=1e-5)
