"""The analysed DICOM instance: its full header (patient and study included, since our results
belong to that study) and the frame the models saw, plus deterministic UIDs derived from it.

Nothing here logs or returns patient data in an error: every failure is a ``DicomInputError``
with a short, path-free reason.
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID

from ..io import ImageLoadError, LoadedImage, load_image, sniff_format

NOT_DICOM = "DICOM results need a DICOM input"

# Type 2 in the Patient / General Study modules: present (maybe empty) in every result object.
IDENTITY_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
                     "StudyDate", "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName")
# Handed to highdicom blank (it warns and logs with the values, and rejects odd ones), then
# ``copy_identity`` puts the source's exact values in.
_BLANKED = tuple(kw for kw in IDENTITY_KEYWORDS if kw != "StudyInstanceUID")
# Single-frame image storage classes: a reference to one of them names no frame, even when a
# (non-conforming) file holds several.
SINGLE_FRAME_CLASSES = frozenset("1.2.840.10008.5.1.4.1.1." + suffix for suffix in (
    "1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1", "2", "4", "6.1", "7", "128",
    "77.1.1", "77.1.2", "77.1.4"))
_REQUIRED_UIDS = ("StudyInstanceUID", "SOPInstanceUID", "SOPClassUID")


class DicomInputError(Exception):
    """The input cannot carry DICOM results; ``str(err)`` is a short, path-free reason."""


@dataclass
class SourceInstance:
    header: Dataset  # the source's data set without pixel data (type 2 identity filled in if absent)
    image: LoadedImage  # the analysed frame, as the models saw it

    @property
    def frame_number(self) -> int | None:
        """1-based number of the analysed frame of a multi-frame source, else None."""
        meta = self.image.meta
        if meta.n_frames == 1 or self.sop_class_uid in SINGLE_FRAME_CLASSES:
            return None
        return meta.frame_index + 1

    @property
    def sop_instance_uid(self) -> str:
        return str(self.header.SOPInstanceUID)

    @property
    def sop_class_uid(self) -> str:
        return str(self.header.SOPClassUID)

    @property
    def instance_number(self) -> int:
        """The source's Instance Number (1 when absent or odd): our objects reuse it."""
        try:
            return max(1, int(self.header.get("InstanceNumber") or 1))
        except (TypeError, ValueError):
            return 1


def derived_uid(*parts) -> str:
    """A ``2.25.<UUID>`` UID whose UUID is a name-based (SHA-1, version 5) UUID of ``parts``:
    the same inputs give the same UID, so re-running writes the same files."""
    name = "\x1f".join(["meddiag-desktop", *map(str, parts)])
    return UID(f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, name).int}")


def read_source(path: str | os.PathLike) -> SourceInstance:
    """Read the header and the analysed frame of ``path``; ``DicomInputError`` when it cannot
    carry DICOM results (not DICOM, unreadable, no study or instance UID)."""
    if sniff_format(path) != "dicom":
        raise DicomInputError(NOT_DICOM)
    try:
        header = dcmread(path, force=True, stop_before_pixels=True)
    except Exception as exc:
        raise DicomInputError(f"DICOM header cannot be read ({type(exc).__name__})") from None
    missing = [kw for kw in _REQUIRED_UIDS if not str(header.get(kw) or "").strip()]
    if missing:
        raise DicomInputError(f"DICOM input has no {', '.join(missing)}: its study or instance is unknown")
    try:
        image = load_image(path)
    except ImageLoadError as exc:
        raise DicomInputError(f"DICOM image cannot be read: {exc}") from None
    for keyword in IDENTITY_KEYWORDS:
        if keyword not in header:
            setattr(header, keyword, "")
    return SourceInstance(header, image)


def identity_free(header: Dataset) -> Dataset:
    """A copy of ``header`` whose patient and study identity is blank (UIDs kept)."""
    copy = Dataset()
    copy.update(header)
    for keyword in _BLANKED:
        setattr(copy, keyword, "")
    return copy


def copy_identity(target, header: Dataset) -> None:
    """Copy the patient and study modules of ``target``'s IOD from ``header``, values exactly as
    the source has them (``target`` is a highdicom ``SOPClass``), except that dates and times in
    the retired ACR-NEMA forms (``1997.04.24``, ``14:04:38``) are rewritten in today's."""
    view = Dataset()
    view.update(header)
    view[Tag("SOPClassUID")] = target["SOPClassUID"]  # the modules of the target's IOD
    target.copy_patient_and_study_information(view)
    for element in list(target):
        if element.VR in ("DA", "TM") and isinstance(element.value, str) and element.value:
            target[element.tag] = DataElement(element.tag, element.VR, current_form(element.VR, element.value))


def current_form(vr: str, value: str) -> str:
    """A DA / TM value without the ACR-NEMA separators ("." in dates, ":" in times)."""
    if vr == "DA" and re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", value):
        return value.replace(".", "")
    if vr == "TM" and re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        return value.replace(":", "")
    return value
