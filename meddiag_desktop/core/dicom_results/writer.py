"""Write the SR and secondary captures of one analysed file into a folder, as
``<SOPInstanceUID>.dcm`` (never named by patient data), each atomically.

``write_dicom_results`` never raises for a bad input: every file gets ``DicomOutput`` records,
either written objects or one record with a short, path-free reason (a PNG: "DICOM results need
a DICOM input"). ``DicomResultsWriter.follow`` does the same alongside a ``core.scan.scan`` event
stream, passing every event through unchanged.

Warnings raised while building are silenced: highdicom and pydicom quote attribute values, patient
names included, in theirs.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from pydicom import dcmwrite

from ..atomic import atomic_write_bytes
from .sc import build_sc
from .source import DicomInputError, read_source
from .sr import build_sr


@dataclass(frozen=True)
class DicomOutput:
    """One object written for ``source`` (``kind`` "SR" or "SC", ``model`` for an SC), or the
    reason (``error``) that nothing, or not this object, could be written."""

    source: str
    kind: str | None = None
    path: str | None = None
    sop_instance_uid: str | None = None
    model: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def dicom_bytes(dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def _save(source: str, kind: str, dataset, out_dir: Path, model: str | None = None) -> DicomOutput:
    uid = str(dataset.SOPInstanceUID)
    path = out_dir / f"{uid}.dcm"
    try:
        atomic_write_bytes(path, dicom_bytes(dataset))
    except OSError as exc:
        return DicomOutput(source, kind, model=model, error=f"cannot write {kind}: {exc.strerror or exc}")
    return DicomOutput(source, kind, str(path), uid, model)


def _build_failure(source: str, kind: str, exc: Exception, model: str | None = None) -> DicomOutput:
    # the type only: messages of highdicom / pydicom can quote patient data
    return DicomOutput(source, kind, model=model, error=f"could not build the {kind} ({type(exc).__name__})")


def write_dicom_results(source: str | os.PathLike, results: Sequence, predictors: Sequence,
                        out_dir: str | os.PathLike,
                        sc_models: Mapping[str, str | None] | None = None) -> list[DicomOutput]:
    """The SR (all models) and one SC per model for ``results`` of ``source`` (``Result`` records,
    matched to ``predictors`` by model id; error results are left out). ``sc_models``: model id
    -> heat-map method (None: the family's default) of the only SCs to make; default: all."""
    source, out_dir = os.fspath(source), Path(out_dir)
    by_id = {p.card.id: p for p in predictors}
    pairs = [(r, by_id[r.model]) for r in results if r.status == "ok" and r.model in by_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            instance = read_source(source)
        except DicomInputError as exc:
            return [DicomOutput(source, error=str(exc))]
        except Exception as exc:  # an odd file must not end a scan of thousands
            return [DicomOutput(source, error=f"DICOM input cannot be read ({type(exc).__name__})")]
        if not pairs:
            return [DicomOutput(source, error="no model result for this image")]
        try:
            sr = build_sr(instance, [r for r, _ in pairs], [p.card for _, p in pairs])
        except Exception as exc:
            outputs = [_build_failure(source, "SR", exc)]
        else:
            outputs = [_save(source, "SR", sr, out_dir)]
        for number, (result, predictor) in enumerate(pairs, start=1):
            if sc_models is not None and result.model not in sc_models:
                continue
            try:
                method = None if sc_models is None else sc_models[result.model]
                sc = build_sc(instance, result, predictor, instance_number=number, method=method)
            except Exception as exc:
                outputs.append(_build_failure(source, "SC", exc, result.model))
            else:
                outputs.append(_save(source, "SC", sc, out_dir, result.model))
    return outputs


class DicomResultsWriter:
    """Writes each file's DICOM results as its result rows stream past; ``outputs`` collects
    every ``DicomOutput``."""

    def __init__(self, predictors: Sequence, out_dir: str | os.PathLike) -> None:
        self.predictors = list(predictors)
        self.out_dir = Path(out_dir)
        self.outputs: list[DicomOutput] = []

    def write(self, source: str, results: Sequence) -> list[DicomOutput]:
        outputs = write_dicom_results(source, results, self.predictors, self.out_dir)
        self.outputs.extend(outputs)
        return outputs

    def follow(self, events: Iterable) -> Iterator:
        """Yield ``events`` unchanged; a file's results (consecutive records with one ``path``)
        are written once its last record has passed (at the next file, a progress event, or the
        end). Records are recognised by their ``path`` and ``status``."""
        path, pending = None, []
        for event in events:
            is_result = hasattr(event, "status") and hasattr(event, "path")
            if pending and (not is_result or event.path != path):
                self.write(path, pending)
                pending = []
            if is_result:
                path = event.path
                pending.append(event)
            yield event
        if pending:
            self.write(path, pending)

    def summary(self) -> str:
        """One line, no paths: objects written and the reasons files got none."""
        return summarize(self.outputs, self.out_dir)


def summarize(outputs: Sequence[DicomOutput], out_dir: str | os.PathLike) -> str:
    """One line, no source paths: objects written to ``out_dir`` and each reason with its count."""
    written = sum(o.ok for o in outputs)
    reasons: dict[str, int] = {}
    for output in outputs:
        if not output.ok:
            reasons[output.error] = reasons.get(output.error, 0) + 1
    text = f"{written} DICOM object(s) written to {os.fspath(out_dir)}"
    return text + "".join(f"; {n} x {reason}" for reason, n in reasons.items())


def describe(outputs: Sequence[DicomOutput]) -> str:
    """One file's outcome: what was written, or why not."""
    written = [o for o in outputs if o.ok]
    failed = "; ".join(dict.fromkeys(o.error for o in outputs if not o.ok))
    if not written:
        return f"DICOM results: none ({failed})"
    kinds = ", ".join(f"{sum(o.kind == k for o in written)} {k}" for k in ("SR", "SC", "PDF")
                      if any(o.kind == k for o in written))
    return f"DICOM results: {kinds}" + (f" (not written: {failed})" if failed else "")
