"""Recognising an image format from the file's content (magic bytes), never from its extension."""
from __future__ import annotations

import os
import re

from pydicom import dcmread

from .errors import EmptyFileError, ImageLoadError, UnreadableFileError

_HEAD_BYTES = 132
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"II+\x00", "tiff"), (b"MM\x00+", "tiff"),
    (b"GIF87a", "gif"), (b"GIF89a", "gif"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jpeg2000"), (b"\xff\x4f\xff\x51", "jpeg2000"),
)
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def _sniff_magic(head: bytes) -> str | None:
    if head[128:132] == b"DICM":  # checked first: a DICOM preamble may hold a TIFF header
        return "dicom"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if re.match(rb"P[1-6]\s", head):
        return "ppm"
    return None


def _is_headerless_dicom(path: str, head: bytes) -> bool:
    """A DICOM data set without preamble/meta starts with a group 0002/0008 tag."""
    if head[:2] not in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"):
        return False
    try:
        ds = dcmread(path, force=True, stop_before_pixels=True,
                     specific_tags=["SOPClassUID", "Modality", "Rows"])
    except Exception:
        return False
    return any(kw in ds for kw in ("SOPClassUID", "Modality", "Rows"))


def sniff_head(path: str, head: bytes) -> str | None:
    """The format of the file at ``path`` whose first bytes are ``head`` (:func:`read_head`), or None."""
    return _sniff_magic(head) or ("dicom" if _is_headerless_dicom(path, head) else None)


def sniff_format(path: str | os.PathLike) -> str | None:
    """Return the image format recognised from the file's content, or None.

    Magic bytes for PNG, JPEG, BMP, TIFF, GIF, WebP, JPEG 2000, PNM and DICOM
    ("DICM" at offset 128), plus DICOM without preamble/file meta (checked
    with a header-only pydicom read).  Unreadable or empty files give None.
    """
    path = os.fspath(path)
    try:
        head = read_head(path)
    except ImageLoadError:
        return None
    return sniff_head(path, head)


_OS_REASONS = ((FileNotFoundError, "file not found"), (IsADirectoryError, "is a directory"),
               (PermissionError, "permission denied"))


def read_head(path: str) -> bytes:
    """The first bytes of ``path``; UnreadableFileError / EmptyFileError when there are none to read."""
    if os.path.isdir(path):  # checked first: Windows reports directories as "permission denied"
        raise UnreadableFileError("is a directory")
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as err:
        reason = next((text for kind, text in _OS_REASONS if isinstance(err, kind)), None)
        raise UnreadableFileError(reason) from err
    return head_of(head)


def head_of(data: bytes) -> bytes:
    """The first bytes of a file's content ``data``; EmptyFileError when there are none."""
    if not data:
        raise EmptyFileError()
    return data[:_HEAD_BYTES]
