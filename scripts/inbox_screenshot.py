#!/usr/bin/env python
"""The README's Inbox screenshot, taken offscreen from the real window.

    python scripts/inbox_screenshot.py [--out docs/screenshots]

Starts the window's DICOM node on a free loopback port (shipped pneumonia models), sends it copies
of the bundled chest X-ray DICOMs and pydicom's CT / MR test files (new UIDs, made-up accession
numbers) from an in-process fake modality, watches a folder holding the PNG samples, opens the top
row with its heat-map and writes ``inbox.png``; then ``node_dialog.png``: Settings → DICOM node
filled in as the README's how-to connects a PACS (example addresses, shown, never used). Nothing
leaves 127.0.0.1.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"


def modality_copies(folder: Path) -> list[str]:
    import pydicom
    import pydicom.data
    from pydicom.uid import generate_uid

    pydicom_files = Path(pydicom.data.__file__).parent / "test_files"
    sources = [SAMPLES / "chest_xray_pneumonia_val0.dcm", SAMPLES / "chest_xray_pneumonia_val0_monochrome1.dcm",
               pydicom_files / "CT_small.dcm", pydicom_files / "MR_small.dcm"]
    paths = []
    for i, source in enumerate(sources):
        ds = pydicom.dcmread(source)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.AccessionNumber = f"A{240611 + i:07d}"
        ds.StudyDate, ds.StudyTime = "20250611", f"{8 + i:02d}{17 * i % 60:02d}00"
        path = folder / f"{i}.dcm"
        ds.save_as(path)
        paths.append(str(path))
    return paths


def send(paths: list[str], port: int) -> None:
    import pydicom
    from pynetdicom import AE

    ae = AE(ae_title="XRAY01")
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDDIAG")
    try:
        for path in paths:
            assoc.send_c_store(path)
    finally:
        assoc.release()


def node_dialog(intake):
    """The dialog as the README's how-to fills it in (not started: these addresses are examples)."""
    dialog = intake.show_dialog()
    dialog.ae_title.setText("MEDDIAG")
    dialog.port.setValue(11112)
    dialog.bind.setText("192.168.1.10")
    dialog.allow.setText("CR01@192.168.1.20 PACS@192.168.1.5")
    dialog.send_to.setText("PACS@192.168.1.5:104")
    dialog.out_dir.setText("~/meddiag-node")
    dialog.watch_folder.setText("")
    dialog.dicom_results.setChecked(True)
    dialog.adjustSize()
    from meddiag_desktop.qt.self_test import wait_for

    wait_for(lambda: False, 0.3)
    return dialog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="meddiag-inbox-shot-"))
    os.environ["MEDDIAG_HOME"] = str(home)

    from meddiag_desktop.core.paths import shipped_weights_dir
    from meddiag_desktop.qt import dialogs
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.self_test import wait_for
    from meddiag_desktop.qt.settings import Settings

    app = create_application()
    app.setFont(app.font())
    window = MainWindow(store=[shipped_weights_dir()], settings=Settings(home / "shot.ini"), device="cpu",
                        task="pneumonia")
    window.resize(1440, 980)
    window.show()
    window.start()
    with dialogs.unattended():
        if not wait_for(lambda: window.info is not None and window.viewer is not None, 300):
            print("models did not load", file=sys.stderr)
            return 1
        intake = window.child_windows.open_intake()
        intake.start_node(intake.settings.with_(port=0, out_dir=str(home / "intake")))
        if not wait_for(lambda: intake.status is not None and intake.status.listening is not None, 120):
            print("the node did not start", file=sys.stderr)
            return 1
        modality = home / "modality"
        modality.mkdir()
        send(modality_copies(modality), intake.status.port)
        exports = home / "exports"
        exports.mkdir()
        for png in sorted(SAMPLES.glob("*.png")):
            shutil.copy(png, exports / png.name)
        intake.start_watch(str(exports))
        model = intake.panel.model
        if not wait_for(lambda: len(model.items) >= 8, 300):
            print(f"only {len(model.items)} items arrived", file=sys.stderr)
            return 1
        window.set_overlay_opacity(0.5)
        intake.panel.view.selectRow(0)
        path = intake.panel.open_row(0)
        wait_for(lambda: window.predictions_complete(path) and window.viewer.overlay_shown(), 300)
        for column in range(model.columnCount() - 1):
            intake.panel.view.resizeColumnToContents(column)
        window.statusBar().clearMessage()
        wait_for(lambda: False, 0.5)
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "inbox.png"
        window.grab().save(str(target))
        print(f"wrote {target}")
        intake.stop_node()
        intake.stop_watch()
        wait_for(lambda: not intake.lane.busy, 60)
        target = args.out / "node_dialog.png"
        node_dialog(intake).grab().save(str(target))
        print(f"wrote {target}")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
