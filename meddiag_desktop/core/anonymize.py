"""Anonymised export: de-identified copies of DICOM files (PS3.15 Annex E Basic Profile).

`dicognito <https://github.com/blairconrad/dicognito>`_ does the replacing, with one random seed
per export so the same source UID (or name, ID, date offset) maps to the same new value in every
file of that export, and so studies and series stay together. On top of it, for the Basic
Application Level Confidentiality Profile: private tags, curves / overlays, elements of unknown
VR and every free-text element (LT / ST / UT and the description / comment attributes below)
are removed; birth date and sex are emptied; PatientIdentityRemoved = YES, DeidentificationMethod
(+ code 113100) and LongitudinalTemporalInformationModified = MODIFIED are set; the preamble is
zeroed. Pixel data is copied unchanged: text burned into the pixels is NOT removed.

Structured reports (no pixel data; e.g. the app's own DICOM results) are exported too, their
content tree kept: its text values (TextValue) are not removed, dicognito replaces its UIDs, names
and dates like any other. Anonymising a source together with its SR and captures in one export
keeps them one study, the references inside them rewritten to the source's new UIDs.

A last check refuses to write a file in which the original patient name or ID still appears.
Outputs are named ``<new SOPInstanceUID>.dcm``: never the patient's or the source file's name.
Each copy is written atomically. Non-DICOM inputs are skipped; DICOM files the app cannot read
(``core.io.load_image``: truncated, no image...) are errors; one :class:`AnonymizeResult` per
input (between ``Progress`` events), and the export goes on.
"""
from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from typing import Iterable, Iterator

from .atomic import atomic_write_bytes
from .io import ImageLoadError, load_image, sniff_format
from .jobs import CancelFlag, Progress, is_cancelled

METHOD = "PS3.15 Basic Profile (dicognito); pixels unchanged"

# Basic Profile "X" / "Z" attributes that dicognito leaves alone (free text, descriptions, history).
REMOVE = frozenset((
    "AcquisitionComments", "AdditionalPatientHistory", "AdmittingDiagnosesCodeSequence",
    "AdmittingDiagnosesDescription", "Allergies", "CurrentPatientLocation", "DerivationDescription",
    "DeviceSerialNumber", "DischargeDiagnosisDescription", "EthnicGroup", "FrameComments", "ImageComments",
    "IssuerOfPatientID", "MedicalAlerts", "OtherPatientIDsSequence", "OtherPatientNames", "PatientAge",
    "PatientBirthName", "PatientBirthTime", "PatientComments", "PatientMotherBirthName", "PatientSize",
    "PatientState", "PatientWeight", "PerformedProcedureStepDescription", "ProtocolName", "ReasonForStudy",
    "RequestAttributesSequence", "RequestedProcedureDescription", "SeriesDescription", "StudyComments",
    "StudyDescription", "VisitComments", "ImagePresentationComments", "ContentCreatorName",
    "DeidentificationMethodCodeSequence", "SourceApplicationEntityTitle",
))
EMPTY = ("PatientBirthDate", "PatientSex")
_FREE_TEXT_VRS = {"LT", "ST", "UT", "UN"}


@dataclass(frozen=True)
class AnonymizeResult:
    source: str  # the input path (stays on this computer: printed, never written into the copy)
    status: str  # "ok" | "skipped" (not DICOM) | "error"
    output: str | None = None  # the de-identified copy
    error: str | None = None


def _secrets(ds) -> set[str]:
    """The identifiers that must not survive: patient name parts and IDs (4+ characters)."""
    from pydicom.multival import MultiValue

    other = ds.get("OtherPatientIDs") or []
    values = [str(ds.get("PatientID") or ""), *(other if isinstance(other, MultiValue) else [other])]
    values += str(ds.get("PatientName") or "").replace("=", "^").split("^")
    return {str(v).strip().upper() for v in values if len(str(v).strip()) >= 4}


def is_structured_report(ds) -> bool:
    return ds.get("Modality") == "SR" and "ContentSequence" in ds and "PixelData" not in ds


def _structured_report_file(path: str) -> bool:
    from pydicom import dcmread

    try:
        return is_structured_report(dcmread(path, force=True, stop_before_pixels=True))
    except Exception:  # noqa: BLE001 - unreadable: not one
        return False


def _strip(ds) -> None:
    """Remove private tags, curves / overlays, free text and the REMOVE attributes, nested ones too
    (an SR's content tree keeps its text values)."""
    ds.remove_private_tags()
    keep = {"TextValue"} if is_structured_report(ds) else set()

    def visit(dataset, elem) -> None:
        curve_or_overlay = elem.tag.group >> 8 in (0x50, 0x60)
        if elem.keyword in keep:
            return
        if elem.keyword in REMOVE or elem.VR in _FREE_TEXT_VRS or curve_or_overlay:
            del dataset[elem.tag]

    ds.walk(visit)
    ds.file_meta.walk(visit)


def _leaks(ds, secrets: set[str]) -> list[str]:
    found: list[str] = []

    def visit(_dataset, elem) -> None:
        if elem.VR not in ("OB", "OW", "OF", "OD", "OL", "OV", "SQ"):
            text = str(elem.value).upper()
            found.extend(elem.keyword or str(elem.tag) for s in secrets if s in text)

    ds.walk(visit)
    ds.file_meta.walk(visit)
    return found


def anonymize_dataset(ds, anonymizer) -> None:
    """De-identify ``ds`` in place with a dicognito ``Anonymizer`` (share one per export)."""
    from pydicom.dataset import Dataset

    _strip(ds)
    anonymizer.anonymize(ds)
    for keyword in EMPTY:
        if keyword in ds:
            setattr(ds, keyword, "")
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "113100", "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = [code]
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    ds.preamble = b"\0" * 128


def _encode(ds) -> bytes:
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = ds.file_meta
    if "TransferSyntaxUID" not in meta:  # a data set without file meta: say how it is encoded
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if ds.original_encoding[0] else ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _one(path: str, out_dir: str, anonymizer, written: set[str]) -> AnonymizeResult:
    from pydicom import dcmread

    if sniff_format(path) != "dicom":
        return AnonymizeResult(path, "skipped", error="not a DICOM file")
    try:
        load_image(path)  # what the app cannot read (truncated, undecodable) is not exported
    except ImageLoadError as exc:
        if not _structured_report_file(path):
            return AnonymizeResult(path, "error", error=f"unreadable image: {exc}")
    try:
        ds = dcmread(path, force=True)
        secrets = _secrets(ds)
        anonymize_dataset(ds, anonymizer)
        leaks = _leaks(ds, secrets)
        if leaks:
            return AnonymizeResult(path, "error", error=f"patient identifier left in {', '.join(sorted(set(leaks)))}")
        data = _encode(ds)
    except Exception as exc:  # noqa: BLE001 - one broken file must not end the export
        reason = (str(exc).strip().splitlines() or [""])[0]
        return AnonymizeResult(path, "error", error=f"cannot de-identify: {type(exc).__name__}: {reason}"[:200])
    name = f"{ds.get('SOPInstanceUID') or uuid.uuid4().hex}.dcm"
    if name in written:
        return AnonymizeResult(path, "skipped", error="same instance as an earlier file")
    target = os.path.join(out_dir, name)
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        return AnonymizeResult(path, "error", error=f"cannot write: {exc.strerror or exc}")
    written.add(name)
    return AnonymizeResult(path, "ok", output=target)


def anonymize_files(paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *,
                    cancel: CancelFlag | None = None, seed: str | None = None) -> Iterator[Progress | AnonymizeResult]:
    """De-identified copies of ``paths`` in ``out_dir``: a ``Progress`` before each file, one
    result per input (in order), and a final ``Progress`` when all are done.

    ``cancel`` is checked between files. ``seed`` (tests only) makes the replacements
    reproducible; by default each export differs.
    """
    from dicognito.anonymizer import Anonymizer

    paths = [os.fspath(p) for p in paths]
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    anonymizer = Anonymizer(seed=seed)
    written: set[str] = set()
    for i, path in enumerate(paths):
        if is_cancelled(cancel):
            return
        yield Progress(i, len(paths), f"De-identifying file {i + 1} of {len(paths)}…")
        yield _one(path, out_dir, anonymizer, written)
    yield Progress(len(paths), len(paths), "Done")
