"""An intake engine wired up the one way both front ends need: the results CSV, the audit log,
the DICOM results folder and, with a destination, an outbox that C-STOREs them there
(``meddiag listen`` / ``meddiag watch`` and the window's Settings → DICOM node)."""
from __future__ import annotations

import os
import sys
from typing import Sequence

from ..audit import AuditLog
from ..inference import Predictor
from .engine import IntakeEngine
from .outbox import Outbox
from .routing import Routing
from .sender import CStoreSender, Destination
from .store import IntakeStore

__all__ = ["FORWARD_WORKERS", "GIL_SWITCH_S", "build_engine"]

# The interpreter's GIL switch interval while an intake runs (Python's default: 5 ms). The node's
# association threads (and the window's GUI thread) wait up to one interval for the GIL each time
# they wake while the engine runs Python code; with 5 ms a C-STORE round trip took ~25 % longer.
GIL_SWITCH_S = 0.001
# Worker processes that decode and predict the engine's batches (``forward.ForwardPool``): the node's
# own process then spends its GIL on receiving. One: the receiving process keeps the other core.
FORWARD_WORKERS = 1


def build_engine(store: IntakeStore, predictors: Sequence[Predictor], results_csv: str | os.PathLike, *,
                 routing: Routing | None = None, default_task: str | None = None,
                 dicom_out: str | os.PathLike | None = None, destination: Destination | None = None,
                 ae_title: str = "MEDDIAG", audit: AuditLog | None = None) -> IntakeEngine:
    """The engine; with ``destination``, its outbox (``store.root / "outbox"``) sends every SR + SC
    there as ``ae_title`` (``dicom_out`` must then be set); batches of small files are decoded and
    predicted in ``FORWARD_WORKERS`` worker processes where the models allow it. Lowers this process's GIL switch
    interval to ``GIL_SWITCH_S`` (never raises it)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
    engine = IntakeEngine(store, predictors, results_csv, audit=audit if audit is not None else AuditLog(),
                          routing=routing, default_task=default_task, dicom_out=dicom_out,
                          forward_workers=FORWARD_WORKERS)
    if destination is not None:
        engine.outbox = Outbox(store.root / "outbox", CStoreSender(destination, ae_title), str(destination),
                               notify=engine.notify)
    return engine
