"""File → Scan folder…: the scan window (live table, progress, cancel, filters, sorting, double-click,
CSV export, audit trail) with the demo models of the three families, offscreen."""
from __future__ import annotations

import csv
import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from meddiag_desktop.core.audit import read_audit
from meddiag_desktop.qt.jobs.scan import csv_functions
from meddiag_desktop.qt.scan_table import RAW_ROLE, ScanFilterProxy, ScanTableModel
from meddiag_desktop.qt.workers import GUI_GUARD

WAIT = 120_000
MODELS = 3
BAD = {"empty.png": b"", "text.png": b"this is not a picture", "broken.jpg": b"\xff\xd8\xff\xe0 not really"}


def make_folder(root, good: int, truncated: bool = True):
    """``good`` tiny 28x28 PNGs (every 4th in a sub-folder) + bad image files + one skipped .txt."""
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(good):
        image = rng.integers(0, 255, (28, 28), dtype=np.uint8)
        image[8:20, 8:20] = 255 if i % 3 == 0 else image[8:20, 8:20]
        Image.fromarray(image).save(root / ("sub" if i % 4 == 0 else ".") / f"img{i:03d}.png")
    bad = dict(BAD)
    if truncated:
        bad["truncated.png"] = (root / "sub" / "img000.png").read_bytes()[:60]
    for name, data in bad.items():
        (root / name).write_bytes(data)
    (root / "notes.txt").write_text("not an image: skipped")
    return root, good + len(bad)


def table_rows(scan_window) -> list:
    """ScanResults in the order the (filtered, sorted) table shows them."""
    return [scan_window.results.proxy.result(r) for r in range(scan_window.results.proxy.rowCount())]


def scan(scan_window, qtbot, paths, **kwargs):
    with qtbot.waitSignal(scan_window.scanFinished, timeout=WAIT):
        job = scan_window.start_scan(paths, **kwargs)
        assert job is not None
    return job


@pytest.fixture
def scan_window(window):
    return window.open_scan_window()


def test_a_scan_of_200_files_fills_the_table_exports_the_csv_and_the_audit(scan_window, qtbot, gui_guard, tmp_path):
    sw = scan_window
    folder, files = make_folder(tmp_path / "study", 196)
    assert files == 200
    assert [c.isChecked() for c in sw.model_checks.values()] == [True] * MODELS  # all three families
    assert sw.recursive_check.isChecked()
    inserts = []
    sw.results.model.rowsInserted.connect(lambda *_: inserts.append(1))
    job = scan(sw, qtbot, [folder])
    assert job.state == "returned" and not sw.scanning

    results = sw.results.model.results
    assert sw.results.model.rowCount() == sw.results.proxy.rowCount() == files * MODELS
    assert {(r.path, r.model) for r in results} == {(str(p), c.id) for p in folder.rglob("*")
                                                    if p.suffix != ".txt" and p.is_file() for c in sw.info.cards}
    assert len(inserts) < files / 8  # whole batches, never a row at a time
    last = sw.last_progress
    assert (last.done, last.total, last.ok, last.errors, last.skipped) == (200, 200, 196, 4, 1)
    assert sw.progress_bar.value() == sw.progress_bar.maximum() == 200
    assert sw.progress_bar.format() == "200 / 200 files"
    assert sw.summary.startswith("Scanned 200 files: 196 ok, 4 errors, 1 non-image skipped, ")
    assert " files/s" in sw.summary_label.text() and "DEMO" in sw.summary
    assert sum(r.status == "error" for r in results) == 4 * MODELS
    assert sw.results.export_button.isEnabled() and sw.scan_button.isEnabled() and not sw.cancel_button.isEnabled()

    out = tmp_path / "export" / "scan.csv"
    with qtbot.waitSignal(sw.exportFinished, timeout=WAIT):
        sw.export_csv(out)
    with open(out, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    csv_columns, _ = csv_functions()
    assert reader.fieldnames == csv_columns(sw.info.cards)
    assert reader.fieldnames[:6] == ["path", "status", "error", "model", "label", "probability"]
    assert len(rows) == sw.results.model.rowCount()
    for i, row in enumerate(rows):  # scan order = table order while unsorted
        for col, key in enumerate(sw.results.model.columns):
            value = sw.results.model.index(i, col).data(RAW_ROLE)
            if isinstance(value, float):
                assert float(row[key]) == pytest.approx(value, abs=1e-6)
            else:
                assert row[key] == (value or "")
    assert [p.name for p in out.parent.iterdir()] == ["scan.csv"]  # atomic: no temporary left
    assert "Exported 600 rows to scan.csv" in sw.summary_label.text()

    audit = read_audit()
    assert len(audit) == len(results)  # one record per row, in the CSV's row order
    assert [a["row"] for a in audit] == list(range(1, len(results) + 1))
    assert {a["scan_id"] for a in audit} == {sw.scan_id}
    assert [(a["model"], a["status"]) for a in audit] == [(r.model, r.status) for r in results]
    assert all(a["probability"] == pytest.approx(r.probability) for a, r in zip(audit, results) if r.status == "ok")
    assert not any(str(folder) in str(a) or "img0" in str(a) for a in audit)  # the trail has no paths
    assert gui_guard() > 20


def test_cancel_keeps_the_rows_so_far_and_the_window_stays_usable(window, scan_window, qtbot, tmp_path):
    sw = scan_window
    baseline = threading.active_count()
    sw.batch_size = batch = 16
    folder, files = make_folder(tmp_path / "big", 196)
    seen = []

    def cancel_after_the_first_batch(progress):
        seen.append(progress)
        if progress.done and not sw.stop_event.is_set():
            sw.cancel_scan()
            assert not sw.cancel_button.isEnabled() and "Cancelling" in sw.summary

    sw.scanProgress.connect(cancel_after_the_first_batch)
    job = scan(sw, qtbot, [folder])
    sw.scanProgress.disconnect(cancel_after_the_first_batch)
    cancelled_at = next(p for p in seen if p.done)
    last = sw.last_progress
    assert seen[0].done == 0 and seen[0].total == files
    # the scan stops before its next batch: at most the batch in progress (plus one already on its way)
    assert cancelled_at.done <= last.done <= cancelled_at.done + 2 * batch < files
    assert job.state == "returned"  # rows already handed out all reach the table
    assert sw.results.model.rowCount() == last.done * MODELS
    assert sw.summary.startswith(f"Cancelled after {last.done} of {files} files: ")
    assert len(read_audit()) == sw.results.model.rowCount()  # table and audit trail agree
    assert not [t for t in threading.enumerate() if t.name.startswith("meddiag-scan_")]  # decoders joined
    assert sw.runner.is_thread_running()  # the lane waits for the next scan

    assert sw.scan_button.isEnabled() and sw.results.export_button.isEnabled()  # still usable: scan again
    small, small_files = make_folder(tmp_path / "small", 4, truncated=False)
    scan(sw, qtbot, [small], recursive=False)
    assert sw.results.model.rowCount() == (small_files - 1) * MODELS  # sub-folder left out
    assert sw.summary.startswith(f"Scanned {small_files - 1} files")

    sw.close()  # closing cancels and joins
    assert sw.closed and not sw.runner.is_thread_running()
    again = window.open_scan_window()
    assert again is not sw and again.isVisible() and not again.closed
    window.close()  # the main window takes its scan window down with it
    assert not again.runner.is_thread_running()
    assert threading.active_count() <= baseline


def test_filters_sorting_double_click_and_the_menu_action(window, scan_window, qtbot, tmp_path):
    sw = scan_window
    folder, files = make_folder(tmp_path / "study", 12)
    scan(sw, qtbot, [folder])
    results = list(sw.results.model.results)
    assert len(results) == files * MODELS == 48

    sw.results.set_filters(status="error")
    assert [r.status for r in table_rows(sw)] == ["error"] * 4 * MODELS
    assert sw.results.rows_label.text() == f"showing {4 * MODELS} of 48 rows"
    sw.results.set_filters(status="ok")
    assert len(table_rows(sw)) == 12 * MODELS
    probabilities = sorted(r.probability for r in results if r.status == "ok")
    cut = probabilities[len(probabilities) // 2]
    sw.results.set_filters(min_probability=cut)
    shown = table_rows(sw)
    assert shown == [r for r in results if r.probability is not None and r.probability >= round(cut, 2)]
    assert shown and all(r.probability >= round(cut, 2) for r in shown)
    label = results[0].label if results[0].status == "ok" else "abnormal"
    sw.results.set_filters(label=label)
    assert table_rows(sw) == [r for r in results if r.label == label]
    sw.results.set_filters()
    assert table_rows(sw) == results and sw.results.rows_label.text() == "48 rows"

    col = sw.results.model.columns.index("probability")
    sw.results.table.sortByColumn(col, Qt.SortOrder.DescendingOrder)  # what a header click does
    shown = [r.probability for r in table_rows(sw)]
    numbers = [p for p in shown if p is not None]
    assert numbers == sorted(numbers, reverse=True) and shown[len(numbers):] == [None] * 4 * MODELS
    sw.results.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    shown = [r.probability for r in table_rows(sw)]
    assert shown[:len(numbers)] == sorted(numbers) and shown[len(numbers):] == [None] * 4 * MODELS
    sw.results.set_filters(status="ok", min_probability=cut)  # filters and sorting together
    assert [r.probability for r in table_rows(sw)] == sorted(p for p in numbers if p >= round(cut, 2))

    sw.results.table.sortByColumn(sw.results.model.columns.index("path"), Qt.SortOrder.DescendingOrder)
    sw.results.set_filters(status="ok")
    row = 0
    path = sw.results.proxy.result(row).path
    assert path == max(r.path for r in results if r.status == "ok")
    rect = sw.results.table.visualRect(sw.results.proxy.index(row, 0))
    qtbot.mouseClick(sw.results.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # Qt 6's QTest: the
    qtbot.mouseDClick(sw.results.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # press comes first
    qtbot.waitUntil(lambda: window.current == path and window.viewer.has_image, timeout=WAIT)
    assert path in window.file_list.paths()

    action = window.menu_actions.scan_action
    assert action.shortcut().toString() == "Ctrl+Shift+O" and action in window.menus["&File"].actions()
    action.trigger()
    dialogs = [d for d in sw.findChildren(QFileDialog) if d.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].fileMode() == QFileDialog.FileMode.Directory
    dialogs[0].reject()
    assert window.open_scan_window() is sw


def test_the_table_takes_30000_rows_in_batches_and_sorts_them_quickly(qapp, qtbot):
    from meddiag_desktop.core.scan import ScanResult
    from PySide6.QtWidgets import QTableView

    rng = np.random.default_rng(1)

    def batch(start, n=96):
        rows = []
        for i in range(start, start + n):
            if i % 50 == 7:
                rows.append(ScanResult(f"/d/{i:05d}.png", f"m{i % 3}", "error", error="truncated file"))
            else:
                p = float(rng.random())
                rows.append(ScanResult(f"/d/{i:05d}.png", f"m{i % 3}", "ok", label="a" if p >= 0.5 else "b",
                                       probability=max(p, 1 - p), probabilities={"a": p, "b": 1 - p}))
        return rows

    model = ScanTableModel()
    model.reset(["path", "model", "status", "label", "probability", "p_a", "p_b", "error"])
    proxy = ScanFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)
    view.show()
    inserts = []
    model.rowsInserted.connect(lambda *_: inserts.append(1))
    start = time.perf_counter()
    for b in range(0, 30_048, 96):
        model.append(batch(b))
    qapp.processEvents()
    assert model.rowCount() == proxy.rowCount() == 30_048 and len(inserts) == 313  # one insert per batch
    appended = time.perf_counter() - start

    start = time.perf_counter()
    view.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    qapp.processEvents()
    sort_seconds = time.perf_counter() - start
    assert sort_seconds < 3.0 and appended < 15.0  # QSortFilterProxyModel's own sort: ~7 s here
    for b in range(30_048, 30_048 + 5 * 96, 96):  # rows arriving while sorted go to their places
        model.append(batch(b))
    probs = [model.result(r).probability for r in range(model.rowCount())]
    numbers = [p for p in probs if p is not None]
    assert len(probs) == proxy.rowCount() == 30_528 and numbers == sorted(numbers, reverse=True)
    assert probs[len(numbers):] == [None] * (len(probs) - len(numbers))
    ties = [model.scan_index(r) for r in range(len(numbers), len(probs))]
    assert ties == sorted(ties)  # equal keys keep scan order

    proxy.set_filters(status="ok", min_probability=0.9)
    assert all(proxy.result(r).probability >= 0.9 for r in range(proxy.rowCount()))
    assert proxy.rowCount() == sum(p is not None and p >= 0.9 for p in probs)
    selected = proxy.result(0)
    view.selectRow(0)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # back to scan order; the selection follows its row
    assert [model.scan_index(r) for r in range(5)] == list(range(5))
    assert proxy.result(view.selectionModel().selectedRows()[0].row()) is selected


def test_widget_slots_refuse_other_threads(qtbot, dialog_log):
    from meddiag_desktop.qt.scan_window import ScanWindow

    sw = ScanWindow()
    qtbot.addWidget(sw)
    errors = []

    def poke():
        for slot, args in ((sw._on_scan_event, (None,)), (sw.cancel_scan, ()), (sw.set_session, (None,)),
                           (sw.results.update_rows_label, ())):
            try:
                slot(*args)
            except AssertionError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=poke)
    thread.start()
    thread.join()
    assert len(errors) == 4 and all("outside the GUI thread" in e for e in errors)
    GUI_GUARD.violations.clear()
    assert sw.start_scan(["/no/such/folder"]) is None and "models are still loading" in sw.summary
    assert dialog_log == [("Cannot scan", "The models are still loading.", "")]
    sw.shutdown()
