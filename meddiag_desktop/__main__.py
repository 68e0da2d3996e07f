"""`meddiag-desktop` / `python -m meddiag_desktop`: the desktop window (not built yet)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print(
        "MedDiag Desktop: the desktop window is not built yet (see the desktop-window issue).\n"
        "Use the command line meanwhile: `meddiag models`, `meddiag predict FILE...`.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
