"""The windows' background work as plain job functions and event records, one module per window.

``viewer`` (main window: load models, open, predict, explain), ``scan`` (scan window: scan, CSV,
anonymised copies), ``finetune`` (fine-tune dialog), ``models`` (Models page). Every function has
the ``workers.Job`` signature ``fn(progress, cancel, *args)`` and runs in a worker thread. Nothing
here imports Qt (an import-linter contract checks it), and the heavy modules (torch, numpy,
pydicom...) are imported inside the functions, i.e. off the GUI thread.
"""
