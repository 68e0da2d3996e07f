"""`meddiag versions`: the Models page without Qt - list, activate, roll back, export, import, delete."""
from __future__ import annotations

from .common import CliError, format_metric, print_json


def cmd_versions(args) -> int:
    """The Models page without Qt: the same core.versions operations, then the listing."""
    from ..core.model_store import ModelStore
    from ..core.storage import ModelStorageError
    from ..core import versions

    store = ModelStore()
    try:
        if args.activate:
            print(f"{versions.activate_version(store, args.activate).id} is now active")
        if args.rollback:
            task, _, family = args.rollback.partition("/")
            print(f"rolled back: {versions.rollback(store, task, family or 'cnn').id} is active again")
        if args.export:
            print(f"exported to {versions.export_version(store, args.export[0], args.export[1])}")
        if args.import_path:
            card = versions.import_version(store, args.import_path, new_id=args.import_as)
            print(f"imported {card.id} (sha256 verified)")
        if args.delete:
            versions.delete_version(store, args.delete)
            print(f"deleted {args.delete}")
    except ModelStorageError as exc:
        raise CliError(str(exc)) from None
    rows = versions.list_versions(store, args.task)
    if args.json:
        print_json([row.__dict__ for row in rows])
        return 0
    print(f"{'task':<10} {'family':<12} {'model':<40} {'version':<8} {'source':<8} {'acc':>6} {'auc':>6}  active")
    for r in rows:
        acc, auc = (format_metric(r.metrics.get(k)) for k in ("accuracy", "auc"))
        print(f"{r.task:<10} {r.family:<12} {r.id:<40} {r.version:<8} {r.source:<8} {acc:>6} {auc:>6}  "
              f"{'*' if r.active else ''}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("versions", help="model versions: list, activate, roll back, export, import, delete")
    p.add_argument("--task", help="only this task's versions")
    p.add_argument("--activate", metavar="ID", help="make ID the active model of its task and family")
    p.add_argument("--rollback", metavar="TASK/FAMILY", help="re-activate the previous version, e.g. pneumonia/cnn")
    p.add_argument("--export", nargs=2, metavar=("ID", "PATH"), help="write ID as a .zip (or into a folder)")
    p.add_argument("--import", dest="import_path", metavar="PATH", help="install a model .zip / folder / card .json")
    p.add_argument("--import-as", metavar="ID", help="with --import: install under this ID")
    p.add_argument("--delete", metavar="ID", help="delete one of your versions (never a shipped model)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_versions)
