"""Helpers of the translation tests: the window in a language, and every UI text of a widget tree with the
English words left in it (data allowed: numbers, file names, model ids, units, format and standard names)."""
from __future__ import annotations

import re
from contextlib import contextmanager

from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QGroupBox, QLabel,
                               QLineEdit, QMainWindow, QMenu, QProgressBar, QTabWidget, QWidget)

# Names that stay as they are in a Chinese UI: formats, standards, units, products, key names, acronyms.
ALLOWED = set("""
MedDiag Desktop DICOM CSV PDF AUC ECE F1 CT OOD CNN RNN Transformer Grad CAM GPU CPU CUDA PyTorch MedMNIST
PNG JPEG TIFF BMP SR SC SCP AE AET HOST PORT TCP PACS sha sha256 ID px mm Ctrl Shift Alt Tab Page Up Down Delete
Enter Esc Home End PgUp PgDown Del Backspace Space Left Right Ins F1 ETA path label val README zip json png
jpg jpeg tif tiff bmp gif webp jp2 j2k pgm ppm pnm dcm dicom ima pdf csv meddiag review-queue English en C-STORE JSON MB
""".split())  # "English": the language menu names each language in its own words
TOKEN = re.compile(r"[A-Za-z0-9_.\-/\\:@+]+")
TAG = re.compile(r"<[^>]+>")


def english_words(text: str, data: tuple[str, ...] = ()) -> list[str]:
    """Words of ``text`` that are English UI words: alphabetic tokens not in ``ALLOWED`` nor ``data``
    (tokens with digits, '_', '.', '/' are data: ids, file names, paths, numbers)."""
    words = []
    for token in TOKEN.findall(TAG.sub(" ", text or "").replace("&", "")):
        if token in ALLOWED or token in data or any(c.isdigit() or c in "_./\\@:" for c in token):
            continue
        for word in re.findall(r"[A-Za-z]{2,}", token):
            if word not in ALLOWED and word not in data:
                words.append(word)
    return words


def widget_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every UI text of ``root`` and its children: titles, texts, tool tips, accessible
    names and descriptions, placeholders, combo items, tab titles, spin-box prefixes, headers, menus."""
    out: list[tuple[str, str]] = []
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        name = f"{type(w).__name__}({w.objectName()})"
        for attr in ("windowTitle", "toolTip", "statusTip", "accessibleName", "accessibleDescription"):
            out.append((f"{name}.{attr}", getattr(w, attr)()))
        if isinstance(w, (QLabel, QAbstractButton)) or hasattr(w, "full_text"):
            out.append((f"{name}.text", w.full_text() if hasattr(w, "full_text") else w.text()))
        if isinstance(w, QGroupBox):
            out.append((f"{name}.title", w.title()))
        if isinstance(w, QLineEdit):
            out.append((f"{name}.placeholder", w.placeholderText()))
        if isinstance(w, QComboBox):
            out += [(f"{name}.item", w.itemText(i)) for i in range(w.count())]
        if isinstance(w, QTabWidget):
            out += [(f"{name}.tab", w.tabText(i)) for i in range(w.count())]
        if isinstance(w, QAbstractSpinBox):
            out += [(f"{name}.{a}", getattr(w, a)()) for a in ("prefix", "suffix", "specialValueText")
                    if hasattr(w, a)]
        if isinstance(w, QProgressBar):
            out.append((f"{name}.format", w.format()))
        header = getattr(w, "horizontalHeader", None) or getattr(w, "header", None)
        if isinstance(w, QAbstractItemView) and header is not None and w.model() is not None:
            header = header()
            out += [(f"{name}.header", str(w.model().headerData(i, _horizontal()) or "")) for i in range(header.count())]
        if isinstance(w, QMenu):
            out.append((f"{name}.title", w.title()))
        for action in w.actions():
            out += [(f"{name}.action", action.text()), (f"{name}.action.tip", action.toolTip())]
            if action.menu() is not None:
                out.append((f"{name}.submenu", action.menu().title()))
                out += [(f"{name}.submenu.action", a.text()) for a in action.menu().actions()]
    if isinstance(root, QMainWindow):
        out.append(("statusBar", root.statusBar().currentMessage()))
    return out


def _horizontal():
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def english_left(root: QWidget, data: tuple[str, ...] = ()) -> list[tuple[str, str, list[str]]]:
    return [(where, text, words) for where, text in widget_texts(root) if (words := english_words(text, data))]


@contextmanager
def language(code: str):
    """The application in ``code`` for the block (translators + QLocale), English again after it."""
    from meddiag_desktop.qt.i18n import install

    assert install(code) == code
    try:
        yield
    finally:
        install("en")
