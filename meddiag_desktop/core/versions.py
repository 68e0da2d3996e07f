"""Model versions: which model is *active* per (task, family), rollback, save / delete / export / import.

A fine-tuned or imported model is a new **version**: an ordinary ``ID.safetensors`` + ``ID.json`` pair
(saved crash-safely by ``core.storage.write_model``) in the user model folder (``ModelStore.writable_root``), with an ID like
``pneumonia-cnn@2026-11-27T15-04-05`` (or a name the user picks). Shipped models are versions too,
read-only: they are never deleted or overwritten.

Which version is active per (task, family) is kept by ``core.active_registry`` (activating
pushes the current one onto a history stack, rolling back pops it); deleting the active version
falls back to the previous one. ``ModelStore.active_cards()`` / ``ModelStore.resolve("all")``
(core.model_store) apply ``active_registry.resolve_active``: that is the one way predict, scan
and the window pick "the active model".
Nothing here uses pickle: cards are JSON, weights safetensors, and an import is refused unless its
weights match the card's sha256 and load strictly into the card's architecture.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from safetensors.torch import load as safetensors_load

from .active_registry import family_key
from .atomic import atomic_write_bytes
from .metric_ci import HEADLINE_METRICS
from .model_store import ModelStore
from .models import create_model_from_config
from .storage import (
    VALID_ID, ModelCard, ModelIntegrityError, ModelNotFoundError, ModelStorageError, VersionError, read_card,
    remove_stale_files, save_model, sha256_bytes, write_model,
)

MAX_IMPORT_BYTES = 2 << 30  # a model file larger than 2 GiB is not one of ours


def active_card(store: ModelStore, task: str, family: str) -> ModelCard:
    cards = [c for c in store.active_cards(task) if c.config.arch == family]
    if not cards:
        raise ModelNotFoundError(f"no {family} model installed for task {task!r}")
    return cards[0]


# ----------------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class VersionInfo:
    """One row of the Models page / ``versions`` listing (plain data)."""

    id: str
    task: str
    family: str
    version: str
    created: str
    base_model: str | None
    source: str  # "shipped" | "user"
    active: bool
    deletable: bool
    demo: bool
    description: str
    sha256: str
    metrics: dict  # validation headline values: {"accuracy": 0.91, "auc": 0.95, ...}


def is_user_card(store: ModelStore, card: ModelCard) -> bool:
    root = store.writable_root
    return root is not None and card.path is not None and card.path.parent.resolve() == root.resolve()


def list_versions(store: ModelStore, task: str | None = None) -> list[VersionInfo]:
    """Every version (shipped and user) by task and family: shipped first, then yours, oldest first."""
    cards = store.cards(task)
    active = {c.id for c in store.active_cards(task)}
    rows = []
    for card in cards:
        headline = {k: m.value for k in HEADLINE_METRICS if (m := card.metric(k)) is not None}
        user = is_user_card(store, card)
        rows.append(VersionInfo(card.id, card.task, card.config.arch, str(card.version), card.created or "",
                                card.base_model, "user" if user else "shipped", card.id in active, user,
                                bool(card.demo), card.description or "", card.sha256, headline))
    return sorted(rows, key=lambda r: (r.task, r.family, r.source == "user", r.created, r.id))


# ----------------------------------------------------------------------------------------- saving
def _timestamp(now: _dt.datetime | None = None) -> str:
    return (now or _dt.datetime.now()).strftime("%Y-%m-%dT%H-%M-%S")


def version_stem(base_id: str | None, task: str, family: str) -> str:
    return base_id.split("@", 1)[0] if base_id else f"{task}-{family}"


def new_version_id(stem: str, existing: Iterable[str], now: _dt.datetime | None = None) -> str:
    """``STEM@YYYY-MM-DDTHH-MM-SS`` (``-2``, ``-3``... appended when that ID is taken)."""
    taken = set(existing)
    base = f"{stem}@{_timestamp(now)}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def check_new_id(store: ModelStore, model_id: str) -> None:
    if not VALID_ID.fullmatch(model_id):
        raise VersionError(f"invalid model name {model_id!r}: use letters, digits, '.', '_', '-' and '@'")
    if any(c.id == model_id for c in store.cards()):
        raise VersionError(f"a model called {model_id!r} exists already; choose another name")


def _next_version_number(store: ModelStore, task: str, family: str) -> str:
    numbers = []
    for card in store.cards(task):
        if card.config.arch == family:
            try:
                numbers.append(int(float(card.version)))
            except (TypeError, ValueError):
                pass
    return str(max(numbers, default=0) + 1)


def save_version(model, card: ModelCard, store: ModelStore | None = None, *, name: str | None = None,
                 activate: bool = True, now: _dt.datetime | None = None) -> ModelCard:
    """Save a trained model as a new version in the store's user folder and register it.

    ``name`` (else ``STEM@timestamp``, STEM from the base model) becomes the model ID. With
    ``activate`` it becomes the active model of its (task, family) - the old one stays on the
    history for rollback; otherwise the currently active model stays active."""
    store = store or ModelStore()
    root = store.writable_root
    if root is None:
        raise VersionError("this model store has no user folder to save into")
    task, family = card.task, card.config.arch
    model_id = name or new_version_id(version_stem(card.base_model, task, family), (c.id for c in store.cards()), now)
    check_new_id(store, model_id)
    previous_default = [c.id for c in store.active_cards(task) if c.config.arch == family]
    card = replace(card, id=model_id, version=_next_version_number(store, task, family),
                   created=(now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc).isoformat(
                       timespec="seconds"))
    saved = save_model(model, card, root)
    _register(store, saved, activate, previous_default)
    return saved


def _register(store: ModelStore, card: ModelCard, activate: bool, previous_default: list[str]) -> None:
    registry = store.registry
    task, family = family_key(card)
    if registry.group(task, family) is None and previous_default:
        # First version of an unversioned group: its current model (or the first of several) is
        # what a rollback returns to, and what stays active when the new one is not activated.
        registry.ensure(task, family, previous_default[0])
    if activate or registry.group(task, family) is None:
        registry.activate(task, family, card.id)


# ----------------------------------------------------------------------------------------- activate / rollback
def activate_version(store: ModelStore, model_id: str) -> ModelCard:
    card = store.find(model_id)
    registry = store.registry
    task, family = family_key(card)
    if registry.group(task, family) is None:
        current = [c.id for c in store.active_cards(task) if c.config.arch == family and c.id != model_id]
        if current:
            registry.ensure(task, family, current[0])
    registry.activate(task, family, model_id)
    return card


def rollback(store: ModelStore, task: str, family: str) -> ModelCard:
    """Re-activate the previously active version of (task, family); returns its card."""
    valid = [c.id for c in store.cards(task) if c.config.arch == family]
    group = store.registry.rollback(task, family, valid)
    return store.find(group.active)


def delete_version(store: ModelStore, model_id: str) -> None:
    """Delete a user version (never a shipped one). If it was active, the previous one takes over."""
    card = store.find(model_id)
    if not is_user_card(store, card):
        raise VersionError(f"{model_id!r} is a shipped model: shipped models cannot be deleted")
    valid = [c.id for c in store.cards()]
    store.registry.forget(model_id, valid)
    card_path, weights_path = card.path, card.weights_path
    card_path.unlink(missing_ok=True)  # the card first: the model disappears from every listing at once
    in_use = {c.weights_path.name for c in store.cards() if c.path.parent == card_path.parent}
    if weights_path.name not in in_use:
        weights_path.unlink(missing_ok=True)
    remove_stale_files(card_path.parent, model_id, keep=in_use)  # leftovers of killed saves too


# ----------------------------------------------------------------------------------------- export / import
def export_version(store: ModelStore, model_id: str, destination: str | os.PathLike) -> Path:
    """Write card + weights to ``destination``: a ``.zip`` file, or a folder (created if needed).
    The weights are checked against the card's sha256 first."""
    card = store.find(model_id)
    blob = _verified_blob(card, card.weights_path.read_bytes())
    weights_name = f"{card.id}.safetensors"  # the plain name, whatever the installed file is called
    card_bytes = (json.dumps(dict(card.to_dict(), weights_file=weights_name), indent=2, allow_nan=False)
                  + "\n").encode("utf-8")
    destination = Path(destination)
    if destination.suffix.lower() == ".zip":
        tmp = destination.with_name(f".{destination.name}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(f"{card.id}.json", card_bytes)
                archive.writestr(weights_name, blob)
            os.replace(tmp, destination)
        finally:
            tmp.unlink(missing_ok=True)
        return destination
    destination.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(destination / weights_name, blob)
    atomic_write_bytes(destination / f"{card.id}.json", card_bytes)
    return destination


def _verified_blob(card: ModelCard, blob: bytes) -> bytes:
    actual = sha256_bytes(blob)
    if actual != card.sha256:
        raise ModelIntegrityError(f"model {card.id!r}: weights sha256 mismatch (card {card.sha256[:12]}…, file "
                                  f"{actual[:12]}…); the file is corrupt or was replaced — refusing it")
    return blob


def _check_architecture(card: ModelCard, blob: bytes) -> None:
    """The weights must be safetensors that load strictly into the card's architecture."""
    try:
        state = safetensors_load(blob)
        create_model_from_config(card.config).load_state_dict(state, strict=True)
    except Exception as exc:  # malformed header, wrong shapes, unknown family...
        raise ModelStorageError(f"model {card.id!r}: the weights do not fit its {card.config.arch} "
                                f"architecture ({str(exc).splitlines()[0][:200]})") from None


def _read_package(source: Path) -> tuple[ModelCard, bytes]:
    """(card, weights bytes) from a .zip, a folder or a card .json, without extracting anything."""
    if source.is_file() and source.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(source) as archive:
                members = {i.filename: i for i in archive.infolist() if not i.is_dir()}
                cards = [n for n in members if n.lower().endswith(".json") and "/" not in n.strip("/")
                         and ".." not in n]
                if len(cards) != 1:
                    raise ModelStorageError(f"{source.name}: expected one model card (.json) at the top level, "
                                            f"found {len(cards)}")
                info = members[cards[0]]
                if info.file_size > 16 << 20:
                    raise ModelStorageError(f"{source.name}: the model card is implausibly large")
                card = _parse_card(archive.read(info), source.name)
                weights_name = card.weights_file or f"{card.id}.safetensors"
                if weights_name not in members or "/" in weights_name or ".." in weights_name:
                    raise ModelStorageError(f"{source.name}: weights file {weights_name!r} is missing")
                if members[weights_name].file_size > MAX_IMPORT_BYTES:
                    raise ModelStorageError(f"{source.name}: weights file is too large")
                return card, archive.read(weights_name)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelStorageError(f"cannot read {source.name}: {exc}") from None
    if source.is_dir():
        found = []
        for path in sorted(source.glob("*.json")):
            try:
                card = read_card(path)
            except ModelStorageError:
                continue
            if card.weights_path.is_file():
                found.append(card)
        if len(found) != 1:
            raise ModelStorageError(f"{source.name}: expected one model (card + weights), found {len(found)}")
        card = found[0]
    elif source.is_file() and source.suffix.lower() == ".json":
        card = read_card(source)
    else:
        raise ModelStorageError(f"{source.name}: choose a model .zip, a folder or a model card .json")
    try:
        if card.weights_path.stat().st_size > MAX_IMPORT_BYTES:
            raise ModelStorageError(f"{source.name}: weights file is too large")
        return card, card.weights_path.read_bytes()
    except OSError as exc:
        raise ModelStorageError(f"model {card.id!r}: cannot read weights ({exc.strerror or exc})") from None


def _parse_card(data: bytes, where: str) -> ModelCard:
    try:
        return ModelCard.from_dict(json.loads(data.decode("utf-8")))
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ModelStorageError(f"{where}: unreadable model card ({exc})") from None


def import_version(store: ModelStore, source: str | os.PathLike, *, new_id: str | None = None,
                   activate: bool = False) -> ModelCard:
    """Install an exported model (``.zip``, folder or card ``.json``) into the user folder.

    Refused unless the weights match the card's sha256 and load strictly into its architecture.
    An ID already installed with the same weights is reported as such; with other weights the
    import needs ``new_id``."""
    source = Path(source)
    if not source.exists():
        raise ModelStorageError(f"{source} does not exist")
    card, blob = _read_package(source)
    _verified_blob(card, blob)
    _check_architecture(card, blob)
    model_id = new_id or card.id
    existing = next((c for c in store.cards() if c.id == model_id), None)
    if existing is not None:
        if existing.sha256 == card.sha256:
            raise VersionError(f"model {model_id!r} is already installed (same weights)")
        raise VersionError(f"a different model called {model_id!r} is installed; import it under another name")
    check_new_id(store, model_id)
    root = store.writable_root
    if root is None:
        raise VersionError("this model store has no user folder to import into")
    previous_default = [c.id for c in store.active_cards(card.task) if c.config.arch == card.config.arch]
    card = replace(card, id=model_id, extra=dict(card.extra, imported_from=source.name,
                                                  imported=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")))
    saved = write_model(blob, card, root)
    _register(store, saved, activate, previous_default)
    return saved
