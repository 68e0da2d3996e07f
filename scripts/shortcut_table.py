#!/usr/bin/env python
"""The README's keyboard shortcut table, generated from the window's actions - the same rows as
Help → Keyboard shortcuts (``qt.keyboard.shortcut_rows``); tests/qt/test_keyboard_and_help.py checks
that the README's table is this one.

    python scripts/shortcut_table.py [--write]     # print it, or write it into README.md
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package


def table() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="meddiag-keys-"))
    os.environ["MEDDIAG_HOME"] = str(home)  # fresh settings, no models needed
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.keyboard import shortcut_rows, shortcut_table_markdown
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.settings import Settings

    create_application()
    window = MainWindow(store=[home / "models"], settings=Settings(home / "keys.ini"), device="cpu")
    window.start()  # builds the actions
    try:
        return shortcut_table_markdown(shortcut_rows(window))
    finally:
        window.close()
        window.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    text = table()
    if not args.write:
        print(text)
        return 0
    from meddiag_desktop.qt.keyboard import README_TABLE_END, README_TABLE_START

    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = content.index(README_TABLE_START) + len(README_TABLE_START), content.index(README_TABLE_END)
    readme.write_text(content[:start] + "\n" + text + "\n" + content[end:], encoding="utf-8")
    print(f"wrote the table into {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
