"""What `meddiag listen` and `meddiag watch` share: their model options, loading the models a
routing may use, building the intake engine and driving it until Ctrl-C / SIGTERM.

Every line printed names items by their stored name (SOP Instance UID or content hash), never by
anything from the patient."""
from __future__ import annotations

import signal
import sys
import threading

from .common import NOTICE, CliError, resolve_cards


def add_model_arguments(parser) -> None:
    parser.add_argument("--model", default="all", help="model ID, comma-separated IDs, or 'all' (default)")
    parser.add_argument("--task", help="the default task: items no routing rule matches go to its models")
    parser.add_argument("--routing", metavar="FILE",
                        help="JSON rules: modality / photometric / body_part / folder -> task (see README)")
    parser.add_argument("--send-to", metavar="AET@HOST:PORT",
                        help="C-STORE every SR + SC made to this AE (kept in an outbox until delivered)")
    parser.add_argument("--ae-title", default="MEDDIAG", help="our AE title (default MEDDIAG)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")


def destination(args):
    from ..core.intake.sender import Destination

    if not args.send_to:
        return None
    try:
        return Destination.parse(args.send_to)
    except ValueError as exc:
        raise CliError(f"--send-to: {exc}") from None


def load_models(args):
    """(routing, predictors): the default models and every routed task's active models."""
    from ..core.device import DeviceError
    from ..core.intake.routing import Routing, RoutingError
    from ..core.jobs import last
    from ..core.loading import load_predictors
    from ..core.storage import ModelStorageError

    try:
        routing = Routing.from_json(args.routing) if args.routing else Routing()
    except RoutingError as exc:
        raise CliError(str(exc)) from None
    cards = {c.id: c for c in resolve_cards(args.model, args.task)}
    for task in routing.tasks:
        cards.update({c.id: c for c in resolve_cards("all", task)})
    try:
        return routing, list(last(load_predictors(cards.values(), args.device)).predictors)
    except (DeviceError, ModelStorageError) as exc:
        raise CliError(str(exc)) from None


def make_engine(args, store, csv_path, dicom_out, dest):
    from ..core.intake.assembly import build_engine
    from ..core.scan_pool import keep_freed_buffers

    keep_freed_buffers()  # this process receives and decodes large instances: no page faults afresh for each
    routing, predictors = load_models(args)
    return build_engine(store, predictors, csv_path, routing=routing, default_task=args.task, dicom_out=dicom_out,
                        destination=dest, ae_title=args.ae_title)


def start_job(engine, cancel, idle_exit_s=None):
    from ..core.intake.results_csv import ResultsCsvError

    try:
        return engine.run(cancel=cancel, idle_exit_s=idle_exit_s)
    except ResultsCsvError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write the audit log: {exc.strerror or exc}") from None


def stop_on_sigterm(cancel: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: cancel.set())


def describe(event) -> str | None:
    """One console line per event (None: nothing to say)."""
    from ..core.intake import events as ev

    if isinstance(event, ev.ItemAnalysed):
        return f"{event.name}: " + "; ".join(f"{r.model} {r.summary()}" for r in event.rows)
    if isinstance(event, ev.ItemSkipped):
        return f"{event.name}: skipped ({event.reason})"
    if isinstance(event, ev.ItemFailed):
        return f"{event.name or 'data set'}: refused ({event.reason})"
    if isinstance(event, ev.Delivered):
        return f"{event.name}: sent to {event.destination}"
    if isinstance(event, ev.DeliveryFailed) and event.permanent:
        return f"{event.name}: refused by {event.destination} ({event.reason}); moved to outbox/failed/"
    if isinstance(event, ev.DeliveryFailed):
        return (f"{event.name}: not sent to {event.destination} ({event.reason}); "
                f"attempt {event.attempt}, next in {event.retry_in_s:.0f} s")
    return None


def drive(events, cancel: threading.Event) -> int:
    """Print the job's events until it ends; Ctrl-C ends it cleanly. Exit status 0."""
    analysed = 0
    while True:
        try:
            for event in events:
                line = describe(event)
                analysed += type(event).__name__ == "ItemAnalysed"
                if line:
                    print(line, file=sys.stderr, flush=True)
            break
        except KeyboardInterrupt:
            cancel.set()  # the job sees it within a fraction of a second and closes its files
    print(f"stopped: {analysed} item(s) analysed in this run. {NOTICE}", file=sys.stderr, flush=True)
    return 0
