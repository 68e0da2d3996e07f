"""`meddiag listen`: a DICOM node - Storage SCP + Verification - whose received images are analysed
unattended (``core.intake``).

``--out DIR`` holds ``instances/`` (received, named by SOP Instance UID), ``results.csv`` (the scan
CSV's columns, one row per instance and model, ``path`` = the stored instance), ``dicom/`` (an SR
and SCs per instance), ``outbox/`` (with ``--send-to``: results not yet delivered) and the index
that makes a restart resume. Binds 127.0.0.1 unless ``--bind`` names an interface; runs until
Ctrl-C or SIGTERM.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from .common import NOTICE, CliError
from .intake_run import add_model_arguments, destination, drive, make_engine, start_job, stop_on_sigterm


def cmd_listen(args) -> int:
    from ..core.intake.node import DicomNode, NodeConfig, Peer
    from ..core.intake.store import IntakeStore

    try:
        allow = tuple(Peer.parse(text) for text in args.allow)
    except ValueError as exc:
        raise CliError(f"--allow: {exc}") from None
    if not 0 <= args.port < 65536 or args.max_associations < 1:
        raise CliError("--port must be 0-65535 and --max-associations at least 1")
    dest = destination(args)
    out = Path(args.out)
    try:
        store = IntakeStore(out)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    engine = make_engine(args, store, out / "results.csv", out / "dicom", dest)
    cancel = threading.Event()
    events = start_job(engine, cancel)
    config = NodeConfig(ae_title=args.ae_title, port=args.port, bind=args.bind, allow=allow,
                        max_associations=args.max_associations, min_free_bytes=args.min_free_mb << 20,
                        max_dataset_bytes=args.max_instance_mb << 20)
    node = DicomNode(config, store, engine.submit)
    try:
        node.start()
    except OSError as exc:
        events.close()
        raise CliError(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}") from None
    stop_on_sigterm(cancel)
    allowed = ", ".join(f"{p.ae_title}@{p.host or '*'}" for p in allow) or "any caller"
    print(f"listening as {args.ae_title} on {args.bind}:{node.port} (allowed: {allowed}); results in "
          f"{out / 'results.csv'}" + (f"; sending to {dest}" if dest else "") + f". {NOTICE}",
          file=sys.stderr, flush=True)
    try:
        return drive(events, cancel)
    finally:
        node.stop()


def register(subparsers) -> None:
    p = subparsers.add_parser("listen", help="run a DICOM node: receive images by C-STORE and analyse them")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for instances, results.csv and results")
    p.add_argument("--port", type=int, default=11112, help="TCP port (default 11112; 0: any free port)")
    p.add_argument("--bind", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine)")
    p.add_argument("--allow", nargs="*", default=[], metavar="AET[@HOST]",
                   help="only these callers (calling AE title, optionally from this host); others are rejected")
    p.add_argument("--max-associations", type=int, default=4, help="simultaneous associations (default 4)")
    p.add_argument("--min-free-mb", type=int, default=1024,
                   help="refuse new data (status A700) below this much free disk (default 1024)")
    p.add_argument("--max-instance-mb", type=int, default=1024,
                   help="close the connection of a sender whose data set passes this size (default 1024)")
    add_model_arguments(p)
    p.set_defaults(func=cmd_listen)
