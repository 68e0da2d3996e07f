"""The scan CSV layout shared by `meddiag scan` and the window's Export CSV (no heavy imports).

Every cell is spreadsheet-safe (:mod:`core.csv_cells`): the path by ``safe_path`` (``./`` before a
relative path that starts like a formula: the same file), text cells by ``neutralize`` (a leading
``'``); the numbers the scan writes are never touched.
"""
from __future__ import annotations

import csv
import io
import os

from .csv_cells import FORMULA_STARTS, neutralize, safe_path

BASE_COLUMNS = ("path", "status", "error", "model", "label", "probability", "in_distribution", "ood_score")
OOD_TEXT = {True: "yes", False: "no", None: ""}  # "no": outside the training data, so no label is given


def csv_columns(cards) -> list[str]:
    """Base columns, then one ``p_<label>`` per class over all selected models, in first-seen order."""
    labels = list(dict.fromkeys(label for card in cards for label in card.labels))
    return [*BASE_COLUMNS, *(f"p_{label}" for label in labels)]


def _text(value: str | None) -> str:
    # the hot path of a scan: most cells need no change, so only a risky start calls neutralize
    return "" if not value else neutralize(value) if value.startswith(FORMULA_STARTS) else value


def _base_cells(result) -> list[str]:
    """The ``BASE_COLUMNS`` cells of one result, in order."""
    return [safe_path(result.path), result.status, _text(result.error), _text(result.model), _text(result.label),
            "" if result.probability is None else f"{result.probability:.6f}", OOD_TEXT[result.in_distribution],
            "" if result.ood_score is None else f"{result.ood_score:.3f}"]


def csv_row(result) -> dict:
    row = dict(zip(BASE_COLUMNS, _base_cells(result)))
    if result.probabilities:
        for name, value in result.probabilities.items():
            row[f"p_{name}"] = f"{value:.6f}"
    return row


def csv_values(result, columns) -> list[str]:
    """``csv_row`` as a list in ``columns`` order ('' where a model lacks a class): for ``csv.writer``.
    Built as a list directly (a scan writes one per file and model)."""
    cells = _base_cells(result)
    probabilities = result.probabilities or {}
    for column in columns[len(BASE_COLUMNS):]:
        value = probabilities.get(column[2:])  # column "p_<label>"
        cells.append("" if value is None else f"{value:.6f}")
    return cells


def path_cell(path: str) -> str:
    """The ``path`` cell of ``path`` as read back from the CSV (which is written with ``backslashreplace``)."""
    return safe_path(path).encode("utf-8", "backslashreplace").decode("utf-8")


class CompletedScan:
    """What an earlier (maybe killed) run of the same scan left in its CSV, for ``--resume``.

    ``rows``: the complete data rows (lists of cells) of every file that has a row for each of
    ``models``, in CSV order; a torn last line and the rows of a file missing a model are dropped
    (that file is scanned again). ``path in done`` tells whether a file (as the walk names it) is
    complete."""

    def __init__(self, csv_path: str | os.PathLike, columns: list[str], models: list[str]) -> None:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            text = handle.read()
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not text.endswith(("\n", "\r")) and records:
            records.pop()  # a line cut off by a kill
        if records and records[0] != columns:
            raise ValueError("the CSV has other columns (other models?) than this scan")
        by_file: dict[str, list[list[str]]] = {}
        for record in records[1:]:
            if len(record) == len(columns):
                by_file.setdefault(record[0], []).append(record)
        wanted = {_text(model) for model in models}
        self.rows = [row for rows in by_file.values() if {r[3] for r in rows} >= wanted
                     for row in rows if row[3] in wanted]
        self.cells = {row[0] for row in self.rows}

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and path_cell(path) in self.cells
