"""The typed error family of image loading: ``str(err)`` is a short, path-free reason, ``err.path`` the
file (picklable across worker processes)."""
from __future__ import annotations

import os


class ImageLoadError(Exception):
    """Base of all loading errors; ``str(err)`` is a short, path-free reason."""

    default_reason = "could not load image"

    def __init__(self, reason: str | None = None, path: str | os.PathLike | None = None):
        self.reason = reason or self.default_reason
        self.path = None if path is None else os.fspath(path)
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self):  # picklable across worker processes, path included
        return type(self), (self.reason, self.path)


class EmptyFileError(ImageLoadError):
    default_reason = "empty file (0 bytes)"


class NotAnImageError(ImageLoadError):
    default_reason = "not an image"


class TruncatedFileError(ImageLoadError):
    default_reason = "truncated file"


class UnsupportedImageError(ImageLoadError):
    default_reason = "corrupt or unsupported image data"


class ImageTooLargeError(ImageLoadError):
    default_reason = "image too large"

    @classmethod
    def for_pixels(cls, pixels: int, limit: int) -> "ImageTooLargeError":
        return cls(f"image too large ({pixels:,} pixels; limit {limit:,})")


class UnreadableFileError(ImageLoadError):
    default_reason = "file cannot be read"
