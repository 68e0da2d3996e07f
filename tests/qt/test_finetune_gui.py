"""The fine-tune dialog and the Models page (offscreen, pytest-qt): a tiny CNN fine-tuned in the
worker on a generated ImageFolder set, live curves, Stop / Cancel semantics, save + rollback; and
the same run on the real shipped pneumonia-cnn with real chest X-rays."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from meddiag_desktop.core import versions
from meddiag_desktop.core.active_registry import REGISTRY_FILE
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.paths import user_data_dir, user_models_dir
from meddiag_desktop.core.storage import ModelCard, load_weights, save_model, sha256_file
from meddiag_desktop.core.model_store import ModelStore
from meddiag_desktop.qt.finetune_dialog import RESULTS_TAB, FineTuneDialog
from meddiag_desktop.qt.models_page import ModelsPage

WAIT = 120_000
LABELS = ("normal", "abnormal")


@pytest.fixture
def base_store():
    """A tiny CNN 'toy-cnn' (task toy) in the test's own user model folder."""
    torch.manual_seed(0)
    config = ModelConfig(arch="cnn", task="toy", labels=LABELS, arch_kwargs={"widths": [4, 8, 8, 8]})
    save_model(create_model_from_config(config),
               ModelCard(id="toy-cnn", config=config, threshold=0.5, positive_label="abnormal"), user_models_dir())
    return ModelStore([user_models_dir()])


@pytest.fixture
def image_folder(tmp_path):
    """ImageFolder layout, 24 PNGs per class (28 px): 'abnormal' images carry a bright square."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for label in LABELS:
        (root / label).mkdir(parents=True)
        for i in range(24):
            pixels = rng.integers(0, 60, size=(28, 28)).astype(np.uint8)
            if label == "abnormal":
                pixels[8:20, 8:20] += 150
            Image.fromarray(pixels).save(root / label / f"{label}_{i:02d}.png")
    return root


@pytest.fixture
def dialog(qtbot, base_store, dialog_log):
    dlg = FineTuneDialog(store=base_store, n_boot=100)
    qtbot.addWidget(dlg)
    yield dlg
    dlg.shutdown()


def ready(dialog, qtbot, folder, epochs=1):
    qtbot.waitUntil(lambda: dialog.setup.base_combo.count() > 1, timeout=WAIT)
    dialog.set_base("toy-cnn")
    dialog.set_data_path(folder)
    qtbot.waitUntil(lambda: dialog.inspection is not None, timeout=WAIT)
    dialog.setup.epochs_spin.setValue(epochs)
    dialog.setup.batch_spin.setValue(8)
    dialog.setup.augment_check.setChecked(False)
    dialog.setup.device_combo.setCurrentIndex(dialog.setup.device_combo.findData("cpu"))


def snapshot():
    """Every file in the user model folder with its sha256, and the registry file's text."""
    registry = user_data_dir() / REGISTRY_FILE
    files = {p.name: sha256_file(p) for p in user_models_dir().iterdir()}
    return files, registry.read_text() if registry.exists() else None


def test_fine_tune_one_epoch_live_curves_results_save_and_rollback(dialog, qtbot, image_folder, base_store,
                                                                    gui_guard):
    ready(dialog, qtbot, image_folder)
    summary = dialog.inspection.summary
    assert summary.relation == "same" and summary.train_counts == {"normal": 19, "abnormal": 19}
    assert summary.val_counts == {"normal": 5, "abnormal": 5} and summary.warnings == ()
    assert "19" in dialog.setup.summary_label.text() and dialog.setup.warnings_label.isHidden()
    assert summary.folds == 5 and "5-fold cross-validation" in dialog.setup.summary_label.text()  # 48 images: small
    assert "near-duplicate images kept in one fold" in dialog.setup.summary_label.text()
    assert dialog.setup.start_button.isEnabled()

    with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
        dialog.start()
        assert dialog.training.stop_button.isEnabled() and dialog.training.cancel_button.isEnabled()
    assert finished.args == ["completed"]
    counts = dialog.training.curves.counts()
    assert counts["raw"] == counts["smooth"] > 0  # every training step reached the curves
    assert counts["val_loss"] == counts["accuracy"] == counts["auc"] == 5  # one held-out fold per fold model
    assert dialog.training.curves.drawn_counts() == counts and dialog.training.curves.redraws >= 1
    assert dialog.training.progress.value() == 1.0 and not dialog.training.stop_button.isEnabled()

    # Results: base vs the new model's out-of-fold predictions on the same 48 images, confusion
    # matrices, reliability, threshold fitted out-of-fold.
    assert dialog.tabs.currentIndex() == RESULTS_TAB and dialog.comparison.base.model_id == "toy-cnn"
    results = dialog.results_page
    assert "5-fold cross-validated" in results.compare_box.title() and "out-of-fold" in results.op_box.title()
    assert dialog.comparison.new.report["evaluation"] == "5-fold cross-validated, n = 48"
    assert dialog.card.metrics["validation"]["evaluation"] == "5-fold cross-validated, n = 48"
    table = results.comparison_table
    assert table.rowCount() == 7 and "(" in table.item(0, 1).text()  # value (CI low–high)
    assert sum(sum(r) for r in dialog.comparison.new.report["confusion_matrix"]) == 48
    assert sum(sum(r) for r in dialog.comparison.base.report["confusion_matrix"]) == 48
    assert results.cm_tables["new"].rowCount() == 2 and results.cm_tables["base"].rowCount() == 2
    assert results.reliability_curves["calibrated"].getOriginalDataset()[0] is not None
    assert "ECE" in results.ece_label.text() and "P ≥" in results.threshold_label.text()

    dialog.set_operating_point("sensitivity", 0.9)
    with qtbot.waitSignal(dialog.resultsReady, timeout=WAIT):
        dialog.apply_operating_point()
    assert dialog.card.metrics["threshold_rule"] == "sensitivity>=0.9"
    assert results.rule() == "sensitivity" and results.target() == pytest.approx(0.9)
    assert dialog.comparison.new.report["sensitivity"]["value"] >= 0.9
    # refitted on the out-of-fold predictions, not on a validation split the final model has seen
    assert dialog.comparison.new.report["evaluation"] == "5-fold cross-validated, n = 48"
    assert sum(sum(r) for r in dialog.comparison.new.report["confusion_matrix"]) == 48

    with qtbot.waitSignal(dialog.versionSaved, timeout=WAIT) as saved:
        dialog.save_version(activate=True)
    new_id = saved.args[0]
    assert new_id.startswith("toy-cnn@")
    card = base_store.find(new_id)
    assert card.base_model == "toy-cnn" and card.metrics["threshold_rule"] == "sensitivity>=0.9"
    assert card.data["train"]["class_counts"] == {"normal": 19, "abnormal": 19}
    assert all(f["sha256"] for f in card.data["train"]["files"])  # per-file manifest
    assert card.training["epochs"] == 1 and card.training["batch_size"] == 8 and card.app_version
    assert versions.active_card(base_store, "toy", "cnn").id == new_id

    # Models page: both versions listed, the new one active; rollback restores the previous one.
    page = ModelsPage(store=base_store)
    qtbot.addWidget(page)
    try:
        qtbot.waitUntil(lambda: len(page.rows) == 2, timeout=WAIT)
        assert page.active_id("toy", "cnn") == new_id
        assert page.select(new_id)
        with qtbot.waitSignal(page.activeModelsChanged, timeout=WAIT):
            page.rollback_selected()
        qtbot.waitUntil(lambda: page.active_id("toy", "cnn") == "toy-cnn", timeout=WAIT)
        assert versions.active_card(base_store, "toy", "cnn").id == "toy-cnn"
        assert [c.id for c in base_store.resolve("all", "toy")] == ["toy-cnn"]
    finally:
        page.shutdown()
    assert gui_guard() > 0


def test_the_operating_point_picker_offers_the_cost_rule(dialog, qtbot, image_folder):
    """The picker's cost rule (as ``meddiag train --threshold-rule cost:R``): its own R spin box, the threshold
    1 / (1 + R) refitted on the out-of-fold predictions, more positive calls as a miss costs more."""
    ready(dialog, qtbot, image_folder)
    with qtbot.waitSignal(dialog.runFinished, timeout=WAIT):
        dialog.start()
    results = dialog.results_page
    assert results.rule_combo.findData("cost") >= 0
    assert results.target() is None and results.cost_spin.isHidden()  # Youden: no number to give

    def apply(ratio: float) -> int:
        results.rule_combo.setCurrentIndex(results.rule_combo.findData("cost"))
        assert not results.cost_spin.isHidden() and results.target_spin.isHidden()
        results.cost_spin.setValue(ratio)
        assert results.target() == ratio
        with qtbot.waitSignal(dialog.resultsReady, timeout=WAIT):
            dialog.apply_operating_point()
        assert dialog.card.metrics["threshold_rule"] == f"cost={ratio:g}"
        assert dialog.card.threshold == pytest.approx(1 / (1 + ratio))
        assert f"cost={ratio:g}" in results.threshold_label.text()
        matrix = dialog.comparison.new.report["confusion_matrix"]
        assert sum(map(sum, matrix)) == 48  # out-of-fold, every image
        return matrix[0][1] + matrix[1][1]  # images called abnormal

    called_at_1, called_at_4 = apply(1.0), apply(4.0)
    assert called_at_4 >= called_at_1
    results.rule_combo.setCurrentIndex(results.rule_combo.findData("sensitivity"))
    assert results.cost_spin.isHidden() and results.target_spin.isEnabled() and results.target() == 0.95


def test_a_fine_tuned_version_keeps_the_base_models_decision_rule(qtbot, base_store, dialog_log, image_folder):
    """A base fitted with the cost rule (as the shipped breast models): the new version is fitted with it
    too, and the operating-point picker starts at it."""
    base = base_store.find("toy-cnn")
    save_model(load_weights(base), replace(base, metrics={**base.metrics, "threshold_rule": "cost=2"}),
               user_models_dir())
    dlg = FineTuneDialog(store=ModelStore([user_models_dir()]), n_boot=100)
    qtbot.addWidget(dlg)
    try:
        ready(dlg, qtbot, image_folder)
        with qtbot.waitSignal(dlg.runFinished, timeout=WAIT):
            dlg.start()
        assert dlg.card.metrics["threshold_rule"] == "cost=2" and dlg.card.threshold == pytest.approx(1 / 3)
        results = dlg.results_page
        assert results.rule() == "cost" and results.target() == 2.0 and not results.cost_spin.isHidden()
        assert "cost=2" in results.threshold_label.text()
    finally:
        dlg.shutdown()


def test_stop_early_keeps_a_usable_model(dialog, qtbot, image_folder, base_store):
    ready(dialog, qtbot, image_folder, epochs=200)
    dialog.run_job = None
    with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
        dialog.start()
        dialog.run_job.yielded.connect(lambda e: type(e).__name__ == "StepBatch" and dialog.stop_early())
    assert finished.args == ["stopped"] and dialog.fit_status == "stopped"
    assert dialog.trained is not None and dialog.comparison is not None
    assert dialog.training.curves.counts()["val_loss"] < 200
    with qtbot.waitSignal(dialog.versionSaved, timeout=WAIT) as saved:
        dialog.save_version(name="toy-stopped", activate=False)
    assert saved.args == ["toy-stopped"]
    assert versions.active_card(base_store, "toy", "cnn").id == "toy-cnn"  # saved, not activated
    model = load_weights(base_store.find("toy-stopped"))
    with torch.inference_mode():
        probs = torch.softmax(model(torch.zeros(2, 1, 28, 28)), 1)
    assert torch.allclose(probs.sum(1), torch.ones(2))


def test_cancel_discards_the_run_and_leaves_the_active_model_untouched(dialog, qtbot, image_folder, base_store):
    versions.activate_version(base_store, "toy-cnn")  # an explicit registry entry that must survive
    before = snapshot()
    active_sha = base_store.find("toy-cnn").sha256
    ready(dialog, qtbot, image_folder, epochs=200)
    with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
        dialog.start()
        dialog.run_job.yielded.connect(lambda e: type(e).__name__ == "StepBatch" and dialog.cancel_training())
    assert finished.args == ["cancelled"]
    assert dialog.trained is None and dialog.comparison is None and not dialog.tabs.isTabEnabled(RESULTS_TAB)
    assert dialog.save_version() is None  # nothing to save
    assert snapshot() == before  # same files, same hashes, same registry
    assert sha256_file(base_store.find("toy-cnn").weights_path) == active_sha
    assert versions.active_card(base_store, "toy", "cnn").id == "toy-cnn"
    assert "nothing was saved" in dialog.training.progress_label.full_text()


def test_new_label_sets_need_confirmation(dialog, qtbot, tmp_path, image_folder):
    (image_folder / "abnormal").rename(image_folder / "effusion")
    ready(dialog, qtbot, image_folder)
    assert dialog.inspection.summary.relation == "new"
    assert not dialog.setup.new_labels_check.isHidden() and not dialog.setup.start_button.isEnabled()
    assert "not the base model's labels" in dialog.setup.warnings_label.text()
    dialog.setup.new_labels_check.setChecked(True)
    assert dialog.setup.start_button.isEnabled()


def test_warnings_for_tiny_or_imbalanced_sets(dialog, qtbot, image_folder):
    for extra in list((image_folder / "abnormal").iterdir())[4:]:
        extra.unlink()
    ready(dialog, qtbot, image_folder)
    text = dialog.setup.warnings_label.text()
    assert "Very few images" in text and "abnormal (4)" in text and "Imbalanced" in text
    assert dialog.setup.start_button.isEnabled()  # a warning, not a refusal


def test_models_page_export_import_and_delete(qtbot, base_store, tmp_path, dialog_log):
    saved = versions.save_version(create_model_from_config(base_store.find("toy-cnn").config),
                                  ModelCard(id="x", config=base_store.find("toy-cnn").config, base_model="toy-cnn"),
                                  base_store, name="toy-v2")
    page = ModelsPage(store=base_store)
    qtbot.addWidget(page)
    try:
        qtbot.waitUntil(lambda: len(page.rows) == 2, timeout=WAIT)
        page.select("toy-v2")
        with qtbot.waitSignal(page.operationFinished, timeout=WAIT) as done:
            page.export_selected(str(tmp_path / "toy-v2.zip"))
        assert done.args[:2] == ["export", True] and (tmp_path / "toy-v2.zip").is_file()
        with qtbot.waitSignal(page.operationFinished, timeout=WAIT) as done:
            page.delete_selected()  # asks first (dialog_log answers yes)
        assert dialog_log[-1][0] == "Delete model version?"
        assert done.args[:2] == ["delete", True] and not saved.path.exists()
        qtbot.waitUntil(lambda: page.active_id("toy", "cnn") == "toy-cnn", timeout=WAIT)  # fell back
        page.select("toy-cnn")
        assert page.delete_button.isEnabled()  # toy-cnn lives in the user folder here
        with qtbot.waitSignal(page.operationFinished, timeout=WAIT) as done:
            page.import_from(str(tmp_path / "toy-v2.zip"), activate=True)
        assert done.args[:2] == ["import", True]
        qtbot.waitUntil(lambda: page.active_id("toy", "cnn") == "toy-v2", timeout=WAIT)
        assert json.loads(saved.path.read_text())["sha256"] == saved.sha256
    finally:
        page.shutdown()


def test_main_window_menu_opens_fine_tune_and_models(window, qtbot):
    assert window.menus["&Models"].actions() == [window.menu_actions.finetune_action, window.menu_actions.models_action]
    window.menu_actions.finetune_action.trigger()
    dialog = window.child_windows.finetune_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.setup.base_combo.count() == 4, timeout=WAIT)  # 3 demo models + "from scratch"
    window.menu_actions.models_action.trigger()
    page = window.child_windows.models_page
    qtbot.waitUntil(lambda: len(page.rows) == 3, timeout=WAIT)
    assert {r.id for r in page.rows} == {"demo-cnn", "demo-rnn", "demo-transformer"}
    with qtbot.waitSignal(window.sessionReady, timeout=WAIT):  # activating reloads the window's models
        page.select("demo-rnn")
        page.activate_selected()
    window.close()
    assert not dialog.lane.is_thread_running() and not page.lane.is_thread_running()


@pytest.fixture
def chest_xray_folder(tmp_path):
    """Real PneumoniaMNIST training images as an ImageFolder: 24 per class, 28 px PNGs."""
    from meddiag_desktop.core.paths import resource_path

    with np.load(resource_path("datasets", "pneumoniamnist_trainval.npz")) as archive:
        images, labels = archive["train_images"], archive["train_labels"].ravel()
    root = tmp_path / "chest"
    for index, name in enumerate(("normal", "pneumonia")):
        (root / name).mkdir(parents=True)
        for i in np.flatnonzero(labels == index)[:24]:
            Image.fromarray(images[i]).save(root / name / f"{i:05d}.png")
    return root


def test_a_shipped_model_fine_tunes_stops_cancels_and_rolls_back(qtbot, chest_xray_folder, dialog_log):
    """The acceptance run on the real shipped pneumonia-cnn: its weights file is never written."""
    from meddiag_desktop.core.paths import shipped_weights_dir

    store = ModelStore([shipped_weights_dir(), user_models_dir()])
    shipped = store.find("pneumonia-cnn")
    shipped_sha = sha256_file(shipped.weights_path)
    dialog = FineTuneDialog(store=store, n_boot=100)
    qtbot.addWidget(dialog)
    try:
        qtbot.waitUntil(lambda: dialog.setup.base_combo.count() > 1, timeout=WAIT)
        dialog.set_base("pneumonia-cnn")
        dialog.set_data_path(chest_xray_folder)
        qtbot.waitUntil(lambda: dialog.inspection is not None, timeout=WAIT)
        assert dialog.inspection.summary.relation == "same"
        dialog.setup.batch_spin.setValue(16)
        dialog.setup.device_combo.setCurrentIndex(dialog.setup.device_combo.findData("cpu"))

        # Cancel mid-run: nothing written anywhere, the shipped model still the active one.
        before = snapshot()
        dialog.setup.epochs_spin.setValue(200)
        with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
            dialog.start()
            dialog.run_job.yielded.connect(lambda e: type(e).__name__ == "StepBatch" and dialog.cancel_training())
        assert finished.args == ["cancelled"] and dialog.trained is None
        assert snapshot() == before and sha256_file(shipped.weights_path) == shipped_sha
        assert versions.active_card(store, "pneumonia", "cnn").id == "pneumonia-cnn"

        # Stop early: a finished, usable model from the best epoch so far.
        with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
            dialog.start()
            dialog.run_job.yielded.connect(lambda e: type(e).__name__ == "EpochEnd" and dialog.stop_early())
        assert finished.args == ["stopped"] and dialog.comparison is not None
        # The stop lands in epoch 2 (or, on an idle machine, before its first step): every epoch run
        # is on the curves, and the run ended long before its 200 epochs.
        epochs_run = dialog.trained.fit.epochs_run
        assert 1 <= epochs_run < 200 and dialog.trained.fit.status == "stopped"
        folds = dialog.comparison.out_of_fold.folds  # a small set: cross-validated, every fold stopped alike
        assert dialog.training.curves.counts()["val_loss"] == folds * epochs_run
        assert dialog.training.curves.counts()["raw"] >= 2

        # One short epoch to completion, saved as the active version; rollback restores the shipped one.
        dialog.setup.epochs_spin.setValue(1)
        with qtbot.waitSignal(dialog.runFinished, timeout=WAIT) as finished:
            dialog.start()
        # 5 fold models and the final one, each at least one step of 16 images
        assert finished.args == ["completed"] and dialog.training.curves.counts()["raw"] >= folds + 1
        assert dialog.comparison.base.model_id == "pneumonia-cnn"
        with qtbot.waitSignal(dialog.versionSaved, timeout=WAIT) as saved:
            dialog.save_version(activate=True)
        assert versions.active_card(store, "pneumonia", "cnn").id == saved.args[0] != "pneumonia-cnn"
        assert versions.rollback(store, "pneumonia", "cnn").id == "pneumonia-cnn"
        assert versions.active_card(store, "pneumonia", "cnn").id == "pneumonia-cnn"
        assert sha256_file(shipped.weights_path) == shipped_sha == store.find("pneumonia-cnn").sha256
    finally:
        dialog.shutdown()
