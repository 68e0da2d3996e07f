"""The intake's one results CSV: the scan CSV's columns (``core.scan_csv``), appended row by row,
flushed and fsync'd per item, so a kill loses at most the item being written.

Opening an existing CSV cuts a torn last line (a kill mid-write) and reads which (path, model)
rows it holds, so that a restart writes each row once. A CSV whose header differs (other models)
is refused rather than mixed.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Sequence

from ..scan_csv import csv_columns, csv_row


class ResultsCsvError(Exception):
    """The CSV cannot be used (other columns, unwritable); ``str()`` says why."""


class ResultsCsv:
    def __init__(self, path: str | os.PathLike, cards: Sequence) -> None:
        self.path = Path(path)
        self.columns = csv_columns(cards)
        self.present: dict[tuple[str, str], int] = {}  # (path, model) -> 1-based data row
        self.rows = 0
        self._handle = None

    def open(self) -> "ResultsCsv":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(self.path, "a+b")
        except OSError as exc:
            raise ResultsCsvError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        handle.seek(0)
        data = handle.read()
        if data and not data.endswith(b"\n"):  # a torn last row: cut it
            data = data[: data.rfind(b"\n") + 1]
            handle.truncate(len(data))
        if data:
            reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
            header = next(reader, [])
            if header != self.columns:
                handle.close()
                raise ResultsCsvError(f"{self.path} has other columns (other models?): choose another file")
            for number, row in enumerate(reader, start=1):
                self.present[(row[0], row[3] if len(row) > 3 else "")] = number
                self.rows = number
        self._handle = io.TextIOWrapper(handle, encoding="utf-8", errors="backslashreplace", newline="")
        self._writer = csv.DictWriter(self._handle, fieldnames=self.columns, restval="", extrasaction="ignore")
        if not data:
            self._writer.writeheader()
            self._sync()
        return self

    def has(self, path: str, model: str) -> bool:
        return (path, model) in self.present

    def append(self, results: Sequence) -> list[int]:
        """Write ``results`` (``Result`` records), then flush + fsync; their row numbers."""
        numbers = []
        for result in results:
            self._writer.writerow(csv_row(result))
            self.rows += 1
            self.present[(result.path, result.model)] = self.rows
            numbers.append(self.rows)
        self._sync()
        return numbers

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
