#!/usr/bin/env python
"""Draw the MedDiag Desktop app icon with Pillow and write every format the builds need.

    python resources/icons/make_icons.py

meddiag.png (512 px: Linux .desktop / window icon), meddiag-256.png, meddiag.ico (Windows, 16-256 px),
meddiag.icns (macOS, 16-1024 px). The design: a teal rounded square with a white medical cross and
a trace line across it (an X-ray-viewer / diagnostics hint). Drawn at 1024 px, downsampled (antialiased).
The generated files are committed; rerun only to change the design. (build.spec skips *.py here.)
"""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 1024
TEAL, TEAL_DARK, WHITE, ACCENT = (0, 122, 135, 255), (0, 84, 96, 255), (255, 255, 255, 255), (255, 196, 61, 255)


def draw(size: int = SIZE) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 1024
    margin, radius = 64 * s, 200 * s
    # soft shadow, then the tile with a darker lower band
    d.rounded_rectangle((margin, margin + 24 * s, size - margin, size - margin + 24 * s), radius, fill=(0, 0, 0, 60))
    d.rounded_rectangle((margin, margin, size - margin, size - margin), radius, fill=TEAL)
    d.rounded_rectangle((margin, size * 0.62, size - margin, size - margin), radius, fill=TEAL_DARK)
    d.rectangle((margin, size * 0.62, size - margin, size * 0.62 + radius), fill=TEAL_DARK)
    # white cross
    c, arm, half = size / 2, 225 * s, 75 * s
    cy = c - 95 * s
    d.rounded_rectangle((c - half, cy - arm, c + half, cy + arm), 40 * s, fill=WHITE)
    d.rounded_rectangle((c - arm, cy - half, c + arm, cy + half), 40 * s, fill=WHITE)
    # a trace line through the lower band
    y0 = size * 0.78
    pts = [(150, 0), (360, 0), (420, -90), (480, 110), (540, -170), (600, 60), (650, 0), (874, 0)]
    d.line([(x * s, y0 + y * s) for x, y in pts], fill=ACCENT, width=int(34 * s), joint="curve")
    return img


def main() -> None:
    big = draw()
    big.resize((512, 512), Image.LANCZOS).save(HERE / "meddiag.png", optimize=True)
    big.resize((256, 256), Image.LANCZOS).save(HERE / "meddiag-256.png", optimize=True)
    big.save(HERE / "meddiag.ico", sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    big.save(HERE / "meddiag.icns")
    for name in ("meddiag.png", "meddiag-256.png", "meddiag.ico", "meddiag.icns"):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
