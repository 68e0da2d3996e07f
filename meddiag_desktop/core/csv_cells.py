"""CSV cells a spreadsheet will not run: OWASP's CSV-injection rule, for every CSV the app writes.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
by Excel / LibreOffice; OWASP recommends prefixing it with a single quote, which the spreadsheet
shows as text. File paths are the exception: a quote would name another file, so a *relative* path
that starts so gets ``./`` instead (the same file); absolute paths never start with those.
Numbers the app writes (``-0.5``) are data, not text: ``safe_row`` leaves the columns it is told hold numbers.
"""
from __future__ import annotations

import os

__all__ = ["FORMULA_STARTS", "neutralize", "safe_path", "safe_row"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value) -> str:
    """``value`` as a CSV cell; text a spreadsheet would evaluate gets a leading single quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_path(path: str | os.PathLike) -> str:
    """A path cell naming the same file and never read as a formula (``./`` before a risky relative path)."""
    text = os.fspath(path)
    return "./" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(row: dict, paths: tuple[str, ...] = ("path",), numbers: tuple[str, ...] = ()) -> dict:
    """Every cell of ``row`` neutralised: ``paths`` keys by ``safe_path``, ``numbers`` keys left as
    they are when they parse as a float (a negative number is not a formula), the rest by ``neutralize``."""
    out = {}
    for key, value in row.items():
        if key in paths and value is not None:
            out[key] = safe_path(value)
        elif key in numbers and _is_number(value):
            out[key] = str(value)
        else:
            out[key] = neutralize(value)
    return out


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
