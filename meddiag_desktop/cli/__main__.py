"""`python -m meddiag_desktop.cli`: the `meddiag` command."""
import sys

from . import main

sys.exit(main())
