"""The structured report: a Comprehensive 3D SR holding a TID 1500 Measurement Report, in the
source's study (patient and study modules copied by highdicom from the source), new series.

Per model one TID 1501 measurement group on the whole image:

* Finding (SNOMED CT, ``coding.finding_code``) and a qualitative evaluation of it: Present /
  Absent at the card's operating point, or Not Evaluated for an image the model refused as
  outside its training data (then "Inside model training distribution" = No);
* measurements: calibrated probability of the finding (left out when refused, as the CSV leaves
  ``probability`` empty), operating threshold, OOD score (99MEDDIAG codes);
* TID 4019 algorithm identification: name = model id, version = card version, family code,
  parameters ``weights_sha256=...``, ``family=...``, ``task=...`` (IHE AI Results);
* the source image (and analysed frame) as the group's source of measurement.

The document is COMPLETE, UNVERIFIED, PRELIMINARY; Contributing Equipment names this app as
Processing Equipment; the series description says "not for diagnostic use".
"""
from __future__ import annotations

from typing import Sequence

import highdicom as hd
from pydicom.sr.codedict import codes

from ... import __version__
from . import coding
from .source import SourceInstance, copy_identity, derived_uid, identity_free

MANUFACTURER = "MedDiag Desktop project"
MODEL_NAME = "MedDiag Desktop"
NOT_FOR_DIAGNOSIS = "not for diagnostic use"
SR_SERIES_NUMBER = 9901
SR_SERIES_DESCRIPTION = f"MedDiag AI results - {NOT_FOR_DIAGNOSIS}"


def finding_label(result, card) -> str:
    """The class a model reports on: the card's positive label, else its decision or top class."""
    if card.positive_label:
        return card.positive_label
    if result.label:
        return result.label
    probs = result.probabilities or {}
    return max(probs, key=probs.get) if probs else card.labels[-1]


def evaluation(result, card):
    """Present / Absent at the operating point, Not Evaluated for a refused image."""
    if result.refused:
        return coding.NOT_EVALUATED
    return coding.PRESENT if result.label == finding_label(result, card) else coding.ABSENT


def algorithm_identification(card) -> hd.sr.AlgorithmIdentification:
    parameters = [f"weights_sha256={card.sha256}", f"family={card.config.arch}", f"task={card.task}"]
    if card.demo:
        parameters.append("demo=true (untrained, not diagnostic)")
    return hd.sr.AlgorithmIdentification(
        name=card.id, version=str(card.version), parameters=parameters,
        family=coding.family_code(card.config.arch), manufacturer=MANUFACTURER)


def processing_equipment() -> hd.ContributingEquipment:
    """This app, as the equipment that made the object (IHE AI Results' processing algorithm)."""
    return hd.ContributingEquipment(
        manufacturer=MANUFACTURER, purpose_of_reference=codes.DCM.ProcessingEquipment,
        manufacturer_model_name=MODEL_NAME, software_versions=__version__,
        contribution_description=f"AI decision support - {NOT_FOR_DIAGNOSIS}")


def _number(name, value: float, unit=coding.NO_UNITS) -> hd.sr.Measurement:
    return hd.sr.Measurement(name=name, value=float(value), unit=unit)


def measurement_group(source: SourceInstance, result, card) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1501 group of one model's image-level result (see the module docstring)."""
    label = finding_label(result, card)
    finding = coding.finding_code(card.task, label)
    measurements = []
    if not result.refused and result.probabilities and label in result.probabilities:
        measurements.append(_number(coding.PROBABILITY, result.probabilities[label]))
    if card.threshold is not None and label == card.positive_label:
        measurements.append(_number(coding.THRESHOLD, card.threshold))
    if result.ood_score is not None:
        measurements.append(_number(coding.OOD_SCORE, result.ood_score))
    evaluations = [hd.sr.QualitativeEvaluation(finding, evaluation(result, card))]
    if result.in_distribution is not None:
        evaluations.append(hd.sr.QualitativeEvaluation(
            coding.IN_DISTRIBUTION, coding.YES if result.in_distribution else coding.NO))
    frames = [source.frame_number] if source.frame_number else None
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=derived_uid(source.sop_instance_uid, source.frame_number, card.id, card.sha256, "tracking"),
            identifier=f"{card.id} image-level result"),
        finding_type=finding,
        algorithm_id=algorithm_identification(card),
        measurements=measurements,
        qualitative_evaluations=evaluations,
        source_images=[hd.sr.SourceImageForMeasurementGroup(
            source.sop_class_uid, source.sop_instance_uid, referenced_frame_numbers=frames)],
    )


def sr_uids(source: SourceInstance, cards: Sequence) -> tuple[str, str]:
    """(series, instance) UIDs: one SR series per study; the instance UID follows from the
    source instance, its analysed frame and the models (id + weights sha256)."""
    series = derived_uid(source.header.StudyInstanceUID, "SR series")
    models = sorted(f"{card.id}:{card.sha256}" for card in cards)
    return series, derived_uid(source.sop_instance_uid, source.frame_number, "SR", *models)


def build_sr(source: SourceInstance, results: Sequence, cards: Sequence) -> hd.sr.Comprehensive3DSR:
    """The SR of ``results`` (status ok), ``cards[i]`` being the model card of ``results[i]``."""
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=derived_uid("device", MODEL_NAME), name=MODEL_NAME, manufacturer_name=MANUFACTURER,
        model_name=MODEL_NAME)
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_device_context=hd.sr.ObserverContext(codes.DCM.Device, device)),
        procedure_reported=coding.PROCEDURE,
        imaging_measurements=[measurement_group(source, r, c) for r, c in zip(results, cards)],
    )
    series_uid, instance_uid = sr_uids(source, cards)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[identity_free(source.header)], content=report[0], series_instance_uid=series_uid,
        series_number=SR_SERIES_NUMBER, sop_instance_uid=instance_uid,
        instance_number=source.instance_number, manufacturer=MANUFACTURER,
        is_complete=True, is_final=False, is_verified=False,
        contributing_equipment=[processing_equipment()],
    )
    copy_identity(sr, source.header)
    sr.SeriesDescription = SR_SERIES_DESCRIPTION
    sr.ManufacturerModelName = MODEL_NAME
    sr.SoftwareVersions = __version__
    sr.CodingSchemeIdentificationSequence = [coding.scheme_identification()]
    return sr
