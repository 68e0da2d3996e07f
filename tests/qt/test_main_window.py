"""The main window with demo models of the three families (offscreen, pytest-qt)."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt.file_list import MAX_FOLDER_FILES, expand_paths
from meddiag_desktop.qt.reading_text import format_probability
from meddiag_desktop.qt.workers import Job

CHEST = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
CHEST_2 = str(resource_path("samples", "chest_xray_normal_val3.png"))
DICOM = str(resource_path("samples", "chest_xray_pneumonia_val0.dcm"))
WAIT = 60_000


def open_and_wait(window, qtbot, path):
    window.open_files([path])
    qtbot.waitUntil(lambda: window.predictions_complete(path), timeout=WAIT)


def test_opening_an_image_shows_the_three_models_side_by_side(window, qtbot, gui_guard):
    open_and_wait(window, qtbot, CHEST)
    assert window.viewer.has_image and window.image_area.currentWidget() is window.viewer
    columns = window.panel.columns
    assert [c.card.config.arch for c in columns.values()] == ["cnn", "rnn", "transformer"]
    for column in columns.values():
        result = column.result
        assert result is not None and result.status == "ok"
        assert column.headline.full_text() == result.label
        assert column.probability.text() == format_probability(result.probability)
        assert [bar.value() for bar in column.bars.values()] == pytest.approx(
            [result.probabilities[k] for k in column.bars])
        assert "P(abnormal) = " in column.decision.text() and "0.50 → " in column.decision.text()
        assert [v.text() for v in column.bar_values.values()] == [format_probability(result.probabilities[k])
                                                                  for k in column.bars]
        assert column.demo_badge.isVisible() and "DEMO" in column.demo_badge.text()
        assert column.meta.full_text() == f"{column.card.id} · v1"
        assert "on CPU" in column.footer.text()
    assert window.device_label.text().startswith("Device: CPU")
    assert window.notice.isVisible() and "not for diagnostic use" in window.notice.text()
    assert "CNN:" in window.file_list.currentItem().toolTip()
    shortcuts = {a.shortcut().toString() for a in window.actions()}
    assert {"Ctrl+O", "Ctrl+Q", "F", "H", "R"} <= shortcuts
    assert window.menu_actions.open_action.toolTip() and window.panel.opacity_slider.toolTip()
    assert gui_guard() > 10  # widget updates went through the guarded slots


def test_dicom_shows_window_level_and_technical_facts_only(window, qtbot):
    open_and_wait(window, qtbot, DICOM)
    centre, width = window.viewer.window_level()
    assert (centre, width) == pytest.approx((2048.0, 4096.0))  # the file's own VOI window
    window.viewer.set_window_level(1500, 1000)
    assert window.viewer.window_level() == pytest.approx((1500.0, 1000.0))
    assert tuple(window.viewer.image.levels) == pytest.approx((1000.0, 2000.0))
    window.viewer._drag_window(50, -20, False)  # right drag: wider window, higher level
    centre, width = window.viewer.window_level()
    assert centre > 1500 and width > 1000 and "W " in window.viewer.caption.text()
    window.menu_actions.reset_wl_action.trigger()
    assert window.viewer.window_level() == pytest.approx((2048.0, 4096.0))
    values = window.panel.info_values
    shown = {name: label.text() for name, label in values.items() if window.panel.info_form.isRowVisible(label)}
    assert shown["Modality"] == "CR" and shown["Pixel spacing"] == "0.7 × 0.7 mm" and shown["Size"] == "28 × 28 px"
    assert shown["Photometric"] == "MONOCHROME2" and "Frame" not in shown
    assert not any("patient" in name.lower() for name in values)
    window.menu_actions.fit_action.trigger()
    window.menu_actions.zoom_in_action.trigger()


def test_switching_back_to_an_image_is_instant_from_the_cache(window, qtbot):
    window.open_files([CHEST, CHEST_2])
    qtbot.waitUntil(lambda: window.predictions_complete(CHEST) and window.predictions_complete(CHEST_2),
                    timeout=WAIT)  # the second file was prefetched in the background
    qtbot.waitUntil(lambda: not window.model_lane.busy and not window.io_lane.busy, timeout=WAIT)
    window.file_list.select_path(CHEST_2)
    qtbot.waitUntil(lambda: window.viewer.has_image and window.current == CHEST_2, timeout=WAIT)
    qtbot.waitUntil(lambda: not window.io_lane.busy, timeout=WAIT)
    window.file_list.select_path(CHEST)  # both images and results are cached now
    assert not window.model_lane.busy and not window.io_lane.busy
    assert all(c.result is window.cache.results[(CHEST, i)] for i, c in window.panel.columns.items())


def test_heat_map_toggle_opacity_and_method_selector(window, qtbot):
    open_and_wait(window, qtbot, CHEST)
    panel, viewer = window.panel, window.viewer
    methods = {}
    for i in range(panel.model_combo.count()):
        panel.model_combo.setCurrentIndex(i)
        methods[panel.model_combo.currentData()] = [panel.method_combo.itemData(j)
                                                    for j in range(panel.method_combo.count())]
    assert methods == {"demo-cnn": ["gradcam", "occlusion"], "demo-rnn": ["occlusion"],
                       "demo-transformer": ["attention", "occlusion"]}
    panel.select_explained_model("demo-cnn")
    assert not viewer.overlay_shown()

    panel.overlay_check.setChecked(True)
    qtbot.waitUntil(viewer.overlay_shown, timeout=WAIT)
    assert window.menu_actions.overlay_action.isChecked()
    assert viewer.heatmap_key == (CHEST, "demo-cnn", "gradcam")
    assert viewer.overlay.image.shape == (28, 28)
    assert "Grad-CAM" in panel.explain_caption.text()

    panel.opacity_slider.setValue(80)
    assert viewer.overlay.opacity() == pytest.approx(0.8) and window.settings.overlay_opacity == pytest.approx(0.8)

    panel.select_explained_model("demo-transformer")  # attention rollout
    qtbot.waitUntil(lambda: viewer.heatmap_key == (CHEST, "demo-transformer", "attention"), timeout=WAIT)
    assert viewer.overlay_shown()

    window.menu_actions.overlay_action.trigger()  # H: off
    assert not viewer.overlay_shown() and not panel.overlay_check.isChecked()
    window.menu_actions.overlay_action.trigger()  # on again: cached, no new job
    assert viewer.overlay_shown() and not window.model_lane.jobs("explain")


def test_device_menu_cpu_and_gpu_only_when_present(window, qtbot):
    from meddiag_desktop.core.device import cuda_available

    actions = window.menu_actions.device_actions
    assert actions["cpu"].isChecked()
    assert actions["cuda"].isEnabled() == cuda_available()
    with qtbot.waitSignal(window.sessionReady, timeout=WAIT):
        actions["auto"].trigger()
    assert window.settings.device == "auto" and window.info.requested == "auto"
    assert window.device_label.text() == f"Device: {window.info.device_label} (auto)"


def test_falling_back_to_cpu_is_announced(make_window, qtbot, tmp_path):
    from meddiag_desktop.core.device import cuda_available
    from meddiag_desktop.core.paths import user_log_dir
    from meddiag_desktop.qt.app import setup_logging

    if cuda_available():
        pytest.skip("a GPU is present: no fallback to announce")
    setup_logging()
    window = make_window(device="gpu")  # e.g. a setting saved on a machine with a GPU
    qtbot.waitUntil(lambda: window.info is not None, timeout=WAIT)
    assert window.info.device == "cpu" and "No CUDA GPU" in window.info.fallback
    assert "No CUDA GPU" in window.statusBar().currentMessage()
    assert window.device_label.text() == "Device: CPU (fallback)"
    log_text = (user_log_dir() / "meddiag-desktop.log").read_text(encoding="utf-8")
    assert "No CUDA GPU" in log_text


def test_a_corrupt_file_gives_an_error_dialog_and_the_window_stays_usable(window, qtbot, dialog_log, tmp_path):
    junk = tmp_path / "corrupt.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    window.open_files([str(junk)])
    qtbot.waitUntil(lambda: bool(dialog_log), timeout=WAIT)
    ((title, text, details),) = dialog_log
    assert title == "Cannot open image" and text.startswith("corrupt.png: ")
    assert "Traceback" in details
    assert "Cannot open corrupt.png" in window.image_area.placeholder.text()
    open_and_wait(window, qtbot, CHEST)  # still usable
    assert window.viewer.has_image and len(dialog_log) == 1


def test_closing_during_a_running_job_leaves_no_threads(make_window, qtbot):
    baseline = threading.active_count()
    window = make_window()
    qtbot.waitUntil(lambda: window.info is not None, timeout=WAIT)
    started = threading.Event()

    def slow(progress, cancel):
        started.set()
        while not cancel.wait(0.01):
            yield None

    job = window.model_lane.submit(Job(slow))
    window.panel.select_explained_model("demo-rnn")  # occlusion: a real, slow, cancellable job queued too
    window.set_overlay_enabled(True)
    window.open_files([CHEST])
    assert started.wait(10)
    window.close()
    assert job.state == "cancelled"
    assert not window.model_lane.is_thread_running() and not window.io_lane.is_thread_running()
    assert threading.active_count() == baseline


def test_drag_and_drop_and_folders_open_files(window, qtbot, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(CHEST)])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert window.file_list.paths() == [CHEST]
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("b.png", "a.png", ".hidden"):
        (folder / name).write_bytes(b"x")
    assert expand_paths([folder]) == [str(folder / "a.png"), str(folder / "b.png")]
    assert MAX_FOLDER_FILES >= 100
    window.open_files([str(folder)])
    assert window.file_list.paths() == [CHEST, str(folder / "a.png"), str(folder / "b.png")]
    window.remove_current()
    assert str(folder / "a.png") not in window.file_list.paths()


def test_settings_round_trip_through_the_window(make_window, qtbot, tmp_path):
    path = tmp_path / "round-trip.ini"
    first = make_window(settings_path=path, device=None)
    qtbot.waitUntil(lambda: first.info is not None, timeout=WAIT)
    first.resize(1000, 700)
    first.set_overlay_opacity(0.3)
    first.set_overlay_enabled(True)
    with qtbot.waitSignal(first.sessionReady, timeout=WAIT):
        first.set_device("cpu")
    first.open_files([CHEST])
    first.close()

    second = make_window(settings_path=path, device=None)
    assert second.device_choice == "cpu" and second.menu_actions.device_actions["cpu"].isChecked()
    assert second.overlay_opacity == pytest.approx(0.3) and second.panel.opacity_slider.value() == 30
    assert second.overlay_enabled and second.menu_actions.overlay_action.isChecked()
    assert second.height() == 700  # geometry restored (the offscreen screen is only 800 px wide)
    assert second.settings.last_folder == str(resource_path("samples"))
    assert second.settings.task is None  # only saved when the user picks a task


def test_the_exception_hook_shows_a_dialog(qapp, qtbot, dialog_log):
    from meddiag_desktop.qt.app import ExceptionDialogHook

    hook = ExceptionDialogHook()
    try:
        raise RuntimeError("slot exploded")
    except RuntimeError as exc:
        hook.handle(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(lambda: bool(dialog_log), timeout=5_000)
    title, text, details = dialog_log[0]
    assert title == "Unexpected error" and "RuntimeError: slot exploded" in text and "Traceback" in details


def test_task_selector_appears_with_several_tasks_and_switches_models(demo_store, make_window, qtbot):
    import torch

    from meddiag_desktop.core.models import ModelConfig, create_model_from_config
    from meddiag_desktop.core.paths import user_models_dir
    from meddiag_desktop.core.storage import ModelCard, save_model

    config = ModelConfig(arch="cnn", task="second", labels=("a", "b", "c"))
    torch.manual_seed(0)
    save_model(create_model_from_config(config), ModelCard(id="second-cnn", config=config, demo=True),
               user_models_dir())
    window = make_window()
    qtbot.waitUntil(lambda: window.info is not None, timeout=WAIT)
    assert window.menu_actions.task_combo_action.isVisible() and window.menu_actions.task_combo.count() == 2
    assert window.info.task == "demo" and len(window.panel.columns) == 3
    with qtbot.waitSignal(window.sessionReady, timeout=WAIT):
        window.menu_actions.task_combo.activated.emit(window.menu_actions.task_combo.findData("second"))
    assert window.info.task == "second" and list(window.panel.columns) == ["second-cnn"]
    assert window.settings.task == "second"
    open_and_wait(window, qtbot, CHEST)
    column = window.panel.columns["second-cnn"]
    assert "No operating point" in column.decision.text() and len(column.bars) == 3


def test_background_prefetch_keeps_only_a_few_jobs_alive(window, qtbot, tmp_path):
    from meddiag_desktop.qt.viewer_session import PREFETCH_AHEAD

    copies = []
    for i in range(12):
        copy = tmp_path / f"copy_{i:02d}.png"
        copy.write_bytes(open(CHEST, "rb").read())
        copies.append(str(copy))
    window.open_files(copies)
    assert len(window.model_lane.jobs("prefetch")) <= PREFETCH_AHEAD
    qtbot.waitUntil(lambda: all(window.predictions_complete(p) for p in copies), timeout=WAIT)
    assert "CNN:" in window.file_list.item(11).toolTip()


def test_an_image_from_another_modality_is_refused_not_labelled(make_window, qtbot, gui_guard):
    """Shipped chest X-ray models, a breast ultrasound image: every column says it is outside the
    training data instead of showing a label."""
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.qt.style import OOD_HEADLINE

    window = make_window(store=ModelStore(), task="pneumonia")
    ultrasound = str(resource_path("samples", "breast_ultrasound_malignant_val0.png"))
    open_and_wait(window, qtbot, ultrasound)
    for column in window.panel.columns.values():
        assert column.result.refused and column.result.label is None
        assert column.headline.full_text() == OOD_HEADLINE
        assert "OOD score" in column.probability.text() and "No decision" in column.decision.text()
        assert "choose another task" in column.decision.text()  # what to do next
    open_and_wait(window, qtbot, CHEST)
    for column in window.panel.columns.values():
        assert column.result.in_distribution is True
        assert column.headline.full_text() == column.result.label == "pneumonia"
        text = column.operating_metrics.text()  # the card's sensitivity / specificity with their CIs
        assert text.startswith("Expected sensitivity 0.") and "specificity 0." in text and "–" in text


def test_long_lived_objects_leave_the_cyclic_gc_once_the_models_are_loaded(make_window, qtbot):
    """A full collection over torch's and Qt's objects stalls the GUI for 200-500 ms: they are frozen."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    window = make_window()
    qtbot.waitUntil(lambda: window.info is not None, timeout=WAIT)
    assert gc.get_freeze_count() > 10_000
