"""The window's intake (issue 17): Settings → DICOM node starts the node, a fake modality sends
pydicom's test files on loopback (ephemeral port), the Inbox fills in priority order, the status
bar counts, a click opens the stored image, stopping the node frees the port; File → Watch
folder… picks files up. The inbox model's order and batching are checked on synthetic items."""
from __future__ import annotations

import os
import shutil
import socket

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from meddiag_desktop.qt.inbox import InboxModel
from meddiag_desktop.qt.jobs.intake import FamilyDecision, InboxItem

from intakekit import copies, send
from testkit import DICOM_DIR


def _item(name, arrived, *decisions, failed=None):
    return InboxItem(name, f"/x/{name}", arrived, decisions=tuple(decisions), failed=failed)


def _decision(family, label, p, positive=False, refused=False):
    return FamilyDecision(family, f"m-{family}", None if refused else label, None if refused else p, positive, refused)


def test_inbox_model_orders_by_priority_and_inserts_whole_runs(qtbot):
    model = InboxModel()
    inserts = []
    model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))
    model.append([
        _item("neg-old", 1, _decision("cnn", "normal", 0.9)),
        _item("pos-60", 2, _decision("cnn", "abnormal", 0.6, positive=True)),
        _item("refused", 3, _decision("cnn", "", 0, refused=True), _decision("rnn", "normal", 0.8)),
    ])
    model.append([
        _item("pos-90", 4, _decision("rnn", "abnormal", 0.9, positive=True), _decision("cnn", "normal", 0.7)),
        _item("neg-new", 5, _decision("cnn", "normal", 0.8)),
        _item("broken", 6, failed="DICOM data set cannot be decoded (InvalidDicomError)"),
    ])
    assert [i.name for i in model.items] == ["pos-90", "pos-60", "broken", "refused", "neg-new", "neg-old"]
    assert inserts[0] == (0, 2) and len(inserts) == 4  # one insert per contiguous run, never per row
    assert model.families == ["cnn", "rnn"]
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Arrived", "Modality", "Accession no.", "Study time", "CNN", "RNN", "Check"]
    row = model.items.index(next(i for i in model.items if i.name == "refused"))
    texts = [model.data(model.index(row, c)) for c in range(model.columnCount())]
    assert texts[4] == "⚠ outside training data" and texts[5] == "normal 80.0 %" and texts[6] == "⚑ check"
    assert model.data(model.index(0, 5)) == "▲ abnormal 90.0 %"
    assert model.counts() == (6, 2, 2)


def test_a_repaint_of_the_inbox_runs_no_python(qtbot):
    """The cells live in Qt: painting the table (what follows every batch from a busy node) calls no
    Python of the model - each such call would take the GIL again, which the node's threads hold - and
    shows what the rows hold: texts, colours, tool tips and the item behind every cell."""
    import sys

    from PySide6.QtWidgets import QTableView

    from meddiag_desktop.qt.inbox import ITEM_ROLE

    model = InboxModel()
    model.append([_item("pos-90", 4, _decision("rnn", "abnormal", 0.9, positive=True)),
                  _item("refused", 5, _decision("rnn", "", 0, refused=True))])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 200)
    view.show()
    calls = []
    sys.setprofile(lambda frame, event, _arg: event == "call" and calls.append(frame.f_code.co_filename))
    try:
        view.grab()  # a paint of every cell
        model.append([_item("neg", 6, _decision("rnn", "normal", 0.8))])
        calls.clear()
        view.grab()
    finally:
        sys.setprofile(None)
    assert not [name for name in calls if name.endswith("inbox.py")]
    assert [model.data(model.index(r, 4)) for r in range(3)] == ["▲ abnormal 90.0 %", "⚠ outside training data",
                                                                 "normal 80.0 %"]
    assert model.data(model.index(1, 5)) == "⚑ check" and "refused" in model.data(model.index(1, 5), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, 4), Qt.ItemDataRole.ForegroundRole) is not None
    assert [model.data(model.index(r, 2), ITEM_ROLE).name for r in range(3)] == ["pos-90", "refused", "neg"]


def test_a_large_batch_goes_in_a_few_rows_per_event_loop_turn_in_priority_order(qtbot):
    from PySide6.QtCore import QTimer

    from meddiag_desktop.qt.inbox import ROWS_PER_TURN, InboxPanel

    panel = InboxPanel()
    qtbot.addWidget(panel)
    changes, ticks = [], []
    panel.changed.connect(lambda: changes.append(len(panel.model.items)))
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(len(panel.model.items)))
    timer.start(0)
    batch = [_item(f"p{i:02d}", i, _decision("cnn", "abnormal", (i % 10) / 10 + 0.05, positive=i % 3 == 0))
             for i in range(3 * ROWS_PER_TURN + 2)]
    panel.append(batch)
    assert len(panel.model.items) == ROWS_PER_TURN  # the first rows at once, the rest later
    panel.append([_item("late", 99, _decision("cnn", "normal", 0.5))])  # queued behind the batch
    qtbot.waitUntil(lambda: len(panel.model.items) == len(batch) + 1, timeout=5_000)
    timer.stop()
    assert changes == [ROWS_PER_TURN * k for k in range(1, 4)] + [len(batch) + 1]
    assert any(0 < n < len(batch) for n in ticks)  # the timer ran between the turns
    keys = [item.priority() for item in panel.model.items]
    assert keys == sorted(keys) and panel.model.rowCount() == len(batch) + 1
    assert str(len(batch) + 1) in panel.caption.text()


@pytest.fixture
def intake(window, tmp_path):
    intake = window.child_windows.open_intake()
    yield intake
    intake.stop_node()
    intake.stop_watch()


def _port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_node_from_the_dialog_fills_the_inbox_and_stops(window, intake, qtbot, tmp_path, gui_guard):
    dialog = intake.show_dialog()
    assert dialog.bind.text() == "127.0.0.1" and not dialog.show_identity.isChecked()  # the safe defaults
    dialog.port.setValue(0)  # an ephemeral port
    dialog.out_dir.setText(str(tmp_path / "intake"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: intake.status is not None and intake.status.listening is not None, timeout=60_000)
    port = intake.status.port
    assert port and "127.0.0.1" in dialog.status_label.text()

    folder = tmp_path / "modality"
    folder.mkdir()
    paths = [*copies("CT_small.dcm", folder, 3, AccessionNumber="ACC42"), *copies("examples_rgb_color.dcm", folder, 1),
             *copies("MR_small.dcm", folder, 1)]
    assert send(paths, port) == [0] * 5
    model = intake.panel.model
    qtbot.waitUntil(lambda: len(model.items) == 5, timeout=60_000)
    assert [i.priority() for i in model.items] == sorted(i.priority() for i in model.items)
    assert sorted(i.modality for i in model.items) == ["CT", "CT", "CT", "MR", "US"]
    ct = [i for i in model.items if i.modality == "CT"]
    assert {i.accession for i in ct} == {"ACC42"} and all(i.study_time.startswith("2004-01-19") for i in ct)
    assert all(len(i.decisions) == 3 for i in model.items)  # one per family
    count = window.findChild(QLabel, "inboxCount")
    assert count.text().startswith("Inbox: 5")
    qtbot.waitUntil(lambda: "Received 5" in dialog.status_label.text(), timeout=10_000)
    assert os.path.isfile(tmp_path / "intake" / "results.csv")

    view = intake.panel.view
    rect = view.visualRect(model.index(1, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.current == model.items[1].path, timeout=10_000)
    assert window.overlay_enabled  # opened with its heat-maps

    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)
    assert _port_closed(port)
    assert intake.status is None and dialog.start_button.isEnabled()
    assert gui_guard() > 0


def test_watch_folder_from_the_window(window, intake, qtbot, tmp_path):
    from meddiag_desktop.core.paths import resource_path

    intake._save(intake.settings.with_(out_dir=str(tmp_path / "intake")))
    folder = tmp_path / "exports"
    folder.mkdir()
    assert intake.start_watch(str(folder))
    qtbot.waitUntil(lambda: intake.status is not None and intake.status.watching is not None, timeout=60_000)
    samples = sorted(p for p in resource_path("samples").iterdir() if p.suffix == ".png")[:2]
    for sample in samples:
        shutil.copy(sample, folder / sample.name)
    shutil.copy(os.path.join(DICOM_DIR, "CT_small.dcm"), folder / "ct.dcm")
    model = intake.panel.model
    qtbot.waitUntil(lambda: len(model.items) == 3, timeout=60_000)
    assert sorted(i.modality for i in model.items) == ["", "", "CT"]
    assert all(i.path.startswith(str(tmp_path / "intake")) for i in model.items)  # the copies, not the originals
    intake.stop_watch()
    qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)
    assert intake.status is None


def test_a_port_in_use_is_a_message_not_a_crash(window, intake, qtbot, tmp_path, dialog_log):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = intake.settings.with_(port=port, out_dir=str(tmp_path / "intake"))
        assert intake.start_node(options)
        qtbot.waitUntil(lambda: any("DICOM node" in title for title, *_ in dialog_log), timeout=60_000)
    qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)
    assert intake.node_wanted is None and intake.status is None
    assert not intake.start_node(options.with_(allow="TOO-LONG-AE-TITLE-XX"))  # checked before anything starts
