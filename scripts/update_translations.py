"""Regenerate the window's translations: ``resources/i18n/meddiag_<lang>.ts`` from the code (pyside6-lupdate,
translations kept, obsolete entries dropped), the compiled ``.qm`` (pyside6-lrelease) and the bundled CJK
font subset (``resources/fonts``, fontTools; only the glyphs the translations and the window use).

    python scripts/update_translations.py            # .ts + .qm (+ font subset when fontTools is installed)
    python scripts/update_translations.py --font /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf

tests/qt/test_translations.py fails when a .ts is out of date with the code or a .qm with its .ts.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "meddiag_desktop" / "qt"
I18N = ROOT / "resources" / "i18n"
FONTS = ROOT / "resources" / "fonts"
LANGUAGES = ("zh_CN",)
DEFAULT_FONT = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"  # Apache-2.0 (fonts-droid-fallback)
FONT_FILE = "MedDiagSansSC-subset.ttf"


def source_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in SOURCES.rglob("*.py"))


def lupdate(ts: Path) -> None:
    """Update ``ts`` from the code (run in the repository root: relative, stable paths)."""
    subprocess.run(["pyside6-lupdate", *source_files(), "-no-obsolete", "-locations", "none",
                    "-target-language", ts.stem.split("_", 1)[1], "-ts", str(ts)],
                   cwd=ROOT, check=True, capture_output=True, text=True)


def lrelease(ts: Path, qm: Path) -> None:
    subprocess.run(["pyside6-lrelease", "-silent", str(ts), "-qm", str(qm)], check=True)


def translated_text(ts: Path) -> str:
    """Every translation of ``ts``, concatenated (the characters the font subset must hold)."""
    return "".join(t.text or "" for t in ET.parse(ts).getroot().iter("translation"))


def subset_font(source: str, text: str, out: Path) -> bool:
    try:
        from fontTools import subset
    except ImportError:
        print("fontTools is not installed: the CJK font subset was not regenerated", file=sys.stderr)
        return False
    ascii_and_punctuation = "".join(map(chr, range(0x20, 0x7F))) + "，。：；！？、（）《》“”‘’—…·→←↑↓≥≤×–⚠✔⚑"
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence names
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text + ascii_and_punctuation)
    subsetter.subset(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(out), options)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", default=DEFAULT_FONT, help="CJK font to subset (default: Droid Sans Fallback)")
    args = parser.parse_args(argv)
    I18N.mkdir(parents=True, exist_ok=True)
    text = ""
    for lang in LANGUAGES:
        ts = I18N / f"meddiag_{lang}.ts"
        lupdate(ts)
        lrelease(ts, ts.with_suffix(".qm"))
        text += translated_text(ts)
        print(f"{ts.relative_to(ROOT)} and its .qm updated")
    if Path(args.font).is_file() and subset_font(args.font, text, FONTS / FONT_FILE):
        print(f"resources/fonts/{FONT_FILE}: {(FONTS / FONT_FILE).stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
