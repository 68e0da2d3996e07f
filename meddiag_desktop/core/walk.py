"""Which files a scan (or an anonymised export) takes: a torch-free folder walk.

File selection (:func:`iter_image_files`):

* Folders are walked recursively by default, in sorted name order. Symbolic links are followed,
  but every folder is visited once (keyed by device + inode, or the real path), so link loops end; a file reached
  twice (link, overlapping roots) is scanned once.
* Hidden files and folders (name starting with ``.``, or the Windows hidden attribute) are left
  out; a folder or file named explicitly on the command line is always taken.
* A regular file is a candidate when its content is an image (``sniff_format``: a DICOM without
  suffix counts) or when its name has an image suffix (``.png .jpg .jpeg .bmp .tif .tiff .dcm
  .dicom .gif .webp``): such a file that is not an image becomes an error row, never a silent
  gap. Other files (``.txt``, ``.csv`` ...) are skipped and counted (``Progress.skipped``).
  Files named explicitly are always candidates.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterable, Iterator

from .io import sniff_format

__all__ = ["IMAGE_SUFFIXES", "WalkStats", "iter_image_files", "list_image_files"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".dcm", ".dicom", ".gif", ".webp"})
_HIDDEN_ATTRIBUTE = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 0)


@dataclass
class WalkStats:
    skipped: int = 0  # regular files neither image content nor image suffix
    hidden: int = 0  # hidden files and folders left out
    unreadable_dirs: int = 0


def _is_hidden(name: str, st: os.stat_result) -> bool:
    return name.startswith(".") or bool(getattr(st, "st_file_attributes", 0) & _HIDDEN_ATTRIBUTE)


def _is_candidate(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES or sniff_format(path) is not None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)  # follows links; a dangling link gives None
    except OSError:
        return None


def _identity(path: str, st: os.stat_result) -> tuple:
    """What makes a file or folder the same one: device + inode (real path where no inode)."""
    return (st.st_dev, st.st_ino) if st.st_ino else (-1, os.path.realpath(path))


def iter_image_files(roots: Iterable[str | os.PathLike], recursive: bool = True,
                     stats: WalkStats | None = None) -> Iterator[str]:
    """Yield the image-candidate files under ``roots`` (folders or files), see the module docstring.

    Raises ``FileNotFoundError`` for a root that does not exist. ``stats``, when given, counts
    what was left out.
    """
    stats = stats if stats is not None else WalkStats()
    seen: set[tuple] = set()  # identities of visited folders and yielded files
    for root in roots:
        root = os.fspath(root)
        st = _stat(root)
        if st is None:
            raise FileNotFoundError(f"no such file or folder: {root}")
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(root, recursive, stats, seen)
        elif _identity(root, st) not in seen:
            seen.add(_identity(root, st))
            yield root


def _walk(root: str, recursive: bool, stats: WalkStats, seen: set) -> Iterator[str]:
    def on_error(_err: OSError) -> None:
        stats.unreadable_dirs += 1

    for folder, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        st = _stat(folder)
        if st is None or _identity(folder, st) in seen:  # a link loop or a folder seen already
            dirnames[:] = []
            continue
        seen.add(_identity(folder, st))
        kept = []
        for name in sorted(dirnames):
            sub = _stat(os.path.join(folder, name))
            if sub is not None and _is_hidden(name, sub):
                stats.hidden += 1
            else:
                kept.append(name)
        dirnames[:] = kept if recursive else []
        for name in sorted(filenames):
            path = os.path.join(folder, name)
            st = _stat(path)
            if st is None or not stat.S_ISREG(st.st_mode):  # dangling links, sockets, FIFOs
                stats.skipped += 1
            elif _is_hidden(name, st):
                stats.hidden += 1
            elif _identity(path, st) in seen:
                continue
            elif _is_candidate(path):
                seen.add(_identity(path, st))
                yield path
            else:
                stats.skipped += 1


def list_image_files(roots: Iterable[str | os.PathLike], recursive: bool = True) -> tuple[list[str], WalkStats]:
    stats = WalkStats()
    return list(iter_image_files(roots, recursive, stats)), stats
