"""`python -m meddiag_desktop.cli`: the `meddiag` command."""
import multiprocessing
import sys

from . import main

if __name__ == "__main__":  # a spawned scan worker imports this module as __mp_main__: no second CLI run
    multiprocessing.freeze_support()
    sys.exit(main())
