"""``--dicom-out DIR`` of `meddiag predict` and `meddiag scan`: per analysed DICOM instance a
structured report and one secondary capture per model, in the source's study
(``core.dicom_results``), written as ``DIR/<SOPInstanceUID>.dcm``.

Files that cannot carry DICOM results (a PNG, a DICOM without a study) get a one-line reason on
stderr, never an error exit; the CSV and JSON outputs are the same with and without the flag.
"""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing

from .common import printable


def output_folder(text: str) -> str:
    """argparse type: the folder, made if needed and writable, before any work starts."""
    try:
        os.makedirs(text, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot write DICOM results to {text}: {exc.strerror or exc}") from None
    if not os.access(text, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write DICOM results to {text}: permission denied")
    return text


def add_argument(parser) -> None:
    parser.add_argument("--dicom-out", metavar="DIR", type=output_folder,
                        help="also write a DICOM SR + secondary captures per DICOM input into DIR "
                             "(files named by SOP Instance UID)")


def _writer(folder: str, predictors):
    from ..core.dicom_results.writer import DicomResultsWriter

    return DicomResultsWriter(predictors, folder)


def write_predictions(folder: str | None, results, predictors) -> None:
    """`meddiag predict`: write each file's objects and print one outcome line per file."""
    if not folder:
        return
    from ..core.dicom_results.writer import describe

    writer = _writer(folder, predictors)
    by_path: dict[str, list] = {}
    for result in results:
        by_path.setdefault(result.path, []).append(result)
    for path, rows in by_path.items():
        print(f"{printable(path)}: {describe(writer.write(path, rows))}", file=sys.stderr)
    print(writer.summary(), file=sys.stderr)


def follow(folder: str | None, events, predictors):
    """`meddiag scan`: ``events`` unchanged, each file's objects written as its rows pass; a
    summary line on stderr at the end. Without a folder, ``events`` itself."""
    if not folder:
        return events
    from tqdm import tqdm

    writer = _writer(folder, predictors)

    def run():
        with closing(events):  # a Ctrl-C or an early close also ends (and audits) the scan below
            yield from writer.follow(events)
        tqdm.write(writer.summary(), file=sys.stderr)  # below the progress bar

    return run()
