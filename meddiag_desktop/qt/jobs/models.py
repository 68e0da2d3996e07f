"""Job functions of the Models page (no Qt in here), for ``workers.Job``: list, activate, roll back,
delete, export and import model versions in the page's "versions" lane.

Signature ``fn(progress, cancel, store_spec, *args)``; core.storage / core.versions (and torch, which
they import) are imported inside the functions, so the GUI thread never pays for them.
"""
from __future__ import annotations

from pathlib import Path


def make_store(spec):
    """A core ModelStore from the window's store setting (a ModelStore, a list of folders or None)."""
    from meddiag_desktop.core.model_store import ModelStore

    if isinstance(spec, ModelStore):
        return spec
    return ModelStore(None if spec is None else [Path(p) for p in spec])


def versions(progress, cancel, store_spec):
    from meddiag_desktop.core.versions import list_versions

    return list_versions(make_store(store_spec))


def activate(progress, cancel, store_spec, model_id: str):
    from meddiag_desktop.core.versions import activate_version

    return activate_version(make_store(store_spec), model_id).id


def rollback(progress, cancel, store_spec, task: str, family: str):
    from meddiag_desktop.core.versions import rollback as core_rollback

    return core_rollback(make_store(store_spec), task, family).id


def delete(progress, cancel, store_spec, model_id: str):
    from meddiag_desktop.core.versions import delete_version

    delete_version(make_store(store_spec), model_id)
    return model_id


def export(progress, cancel, store_spec, model_id: str, destination: str):
    from meddiag_desktop.core.versions import export_version

    return str(export_version(make_store(store_spec), model_id, destination))


def import_(progress, cancel, store_spec, source: str, new_id: str | None, activate: bool):
    from meddiag_desktop.core.versions import import_version

    return import_version(make_store(store_spec), source, new_id=new_id, activate=activate).id
