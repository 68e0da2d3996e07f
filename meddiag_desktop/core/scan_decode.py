"""A scan's per-file work, spawn-safe: read, hash, decode and preprocess one file -> ``DecodedFile``.

Everything here is a module-level function of picklable arguments, so the same code runs in the
scan's decode threads, in its worker processes (``core.scan_pool``) and in a Ray actor (the CLI's
cluster engine). What leaves a worker is small: the file's sha256 and one compact float32 array
per distinct model input (``ConfigKey``), never the full-size image; a failure is a path-free
reason (``error``), never an exception.
"""
from __future__ import annotations

import hashlib
import os
from contextlib import suppress
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from .io import ImageLoadError, load_image
from .preprocess import preprocess_array

__all__ = ["ConfigKey", "DecodedFile", "config_key", "decode_file", "decode_files", "input_configs"]

READ_WHOLE_MAX_BYTES = 256 << 20  # larger files are hashed in chunks and decoded from the file
ConfigKey = tuple  # (img_size, in_chans, mean, std): models sharing it share the model input


def config_key(config) -> ConfigKey:
    return (config.img_size, config.in_chans, tuple(config.mean), tuple(config.std))


def input_configs(predictors) -> dict:
    """``ConfigKey`` -> model config, once per distinct model input of ``predictors`` (or cards)."""
    cards = [getattr(p, "card", p) for p in predictors]
    return {config_key(card.config): card.config for card in cards}


@dataclass
class DecodedFile:
    path: str
    sha256: str | None  # None when the file cannot be read
    inputs: dict | None = None  # ConfigKey -> preprocessed float32 array (C, H, W)
    error: str | None = None


def _read(path: str, sha256: str | None = None) -> tuple[bytes | None, str | None]:
    """(content, sha256) from one read of the file; content None when the file is too large to hold
    (hashed in chunks, decoded from the file), both None when it cannot be read. A known ``sha256``
    is taken as it is (not hashed again)."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size <= READ_WHOLE_MAX_BYTES:
                with suppress(MemoryError):
                    data = handle.read()
                    return data, sha256 or hashlib.sha256(data).hexdigest()
                handle.seek(0)
            if sha256:
                return None, sha256
            digest = hashlib.sha256()
            while block := handle.read(1 << 20):
                digest.update(block)
            return None, digest.hexdigest()
    except OSError:
        return None, None


def decode_file(path: str, configs: Mapping[ConfigKey, object], sha256: str | None = None) -> DecodedFile:
    """One file, hashed and preprocessed for every model input; every failure becomes a reason.
    The file is read once: the hash and the decoder share the bytes. ``sha256``: the file's hash
    where the caller has taken it already (the intake engine), else hashed here."""
    path = os.fspath(path)
    data, sha = _read(path, sha256)
    try:
        array = load_image(path, data=data).array
        inputs = {key: np.ascontiguousarray(preprocess_array(array, cfg)) for key, cfg in configs.items()}
        return DecodedFile(path, sha, inputs)
    except ImageLoadError as err:
        return DecodedFile(path, sha, error=str(err))
    except MemoryError:
        return DecodedFile(path, sha, error="not enough memory to load image")
    except Exception as err:  # a surprise in one file must not end a scan of thousands
        return DecodedFile(path, sha, error=f"could not process image ({type(err).__name__})")


def decode_files(paths: Iterable[str], configs: Mapping[ConfigKey, object]) -> list[DecodedFile]:
    """``decode_file`` over a chunk: one inter-process message for several small files."""
    return [decode_file(path, configs) for path in paths]
