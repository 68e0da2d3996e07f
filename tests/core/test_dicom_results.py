"""DICOM results (issue 16): SR + SC for every kind of source are valid by dciodvfy, carry the
source's identity exactly, read back with highdicom to the model's results, and reach a Storage
SCP by C-STORE; inputs that cannot carry them get a per-file reason."""
from __future__ import annotations

import logging
import os
import warnings

import pydicom
import pytest

from meddiag_desktop.core.dicom_results import coding
from meddiag_desktop.core.dicom_results.source import NOT_DICOM
from meddiag_desktop.core.dicom_results.writer import write_dicom_results
from meddiag_desktop.core.inference import Predictor, predict_files
from meddiag_desktop.core.model_store import ModelStore

from dicomkit import IDENTITY, StorageSCP, c_store, dciodvfy_errors, make_sources, read_sr
from testkit import png_bytes

MODELS = ("pneumonia-cnn", "breast-transformer")
WHEN = {"ContentDate", "ContentTime", "InstanceCreationDate", "InstanceCreationTime", "DateOfSecondaryCapture",
        "TimeOfSecondaryCapture", "ContributionDateTime"}  # when the object was made: all else is fixed


def without_times(ds):
    for element in list(ds):
        if element.keyword in WHEN:
            del ds[element.tag]
        elif element.VR == "SQ":
            for item in element.value:
                without_times(item)
    return ds


@pytest.fixture(scope="module")
def predictors():
    store = ModelStore()
    return [Predictor(store.find(model_id), "cpu") for model_id in MODELS]


@pytest.fixture(scope="module")
def written(tmp_path_factory, predictors):
    """Kind -> (source path, results, outputs) for every source kind."""
    folder = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("dicom_out")
    done = {}
    for kind, path in make_sources(folder).items():
        results = list(predict_files([path], predictors))
        done[kind] = (path, results, write_dicom_results(path, results, predictors, out))
    return done


KINDS = ("ct", "mr", "us_rgb", "palette", "jpeg", "multiframe", "rgb_tiny", "dx_monochrome1",
         "sample_chest_xray_pneumonia_val0", "sample_chest_xray_pneumonia_val0_monochrome1")


@pytest.mark.parametrize("kind", KINDS)
def test_sr_and_sc_are_valid_for_dciodvfy(written, kind):
    _, _, outputs = written[kind]
    assert [o.error for o in outputs] == [None] * (1 + len(MODELS))
    assert sorted(o.kind for o in outputs) == ["SC"] * len(MODELS) + ["SR"]
    for output in outputs:
        assert os.path.basename(output.path) == f"{output.sop_instance_uid}.dcm"
        assert dciodvfy_errors(output.path) == [], f"{kind} {output.kind}"


@pytest.mark.parametrize("kind", KINDS)
def test_objects_carry_the_source_identity_exactly_in_a_new_series(written, kind):
    path, _, outputs = written[kind]
    source = pydicom.dcmread(path, stop_before_pixels=True)
    for output in outputs:
        ds = pydicom.dcmread(output.path)
        for keyword in IDENTITY:
            assert str(ds.get(keyword, "")) == str(source.get(keyword, "")), keyword
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
        assert "not for diagnostic use" in ds.SeriesDescription
        (equipment,) = [e for e in ds.ContributingEquipmentSequence if e.Manufacturer == "MedDiag Desktop project"]
        assert equipment.PurposeOfReferenceCodeSequence[0].CodeValue == "109102"  # Processing Equipment
        assert equipment.ManufacturerModelName == "MedDiag Desktop" and equipment.SoftwareVersions
        if output.kind == "SR":
            assert (ds.VerificationFlag, ds.PreliminaryFlag, ds.CompletionFlag) == ("UNVERIFIED", "PRELIMINARY", "COMPLETE")
            evidence = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
            assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
        else:
            assert ds.BurnedInAnnotation == "YES" and ds.SamplesPerPixel == 3
            assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID


def test_sr_reads_back_to_the_results(written, predictors):
    cards = {p.card.id: p.card for p in predictors}
    for kind in KINDS:
        path, results, outputs = written[kind]
        source = pydicom.dcmread(path, stop_before_pixels=True)
        report = read_sr(next(o.path for o in outputs if o.kind == "SR"))
        assert set(report) == set(MODELS)
        for result in results:
            got, card = report[result.model], cards[result.model]
            assert got["sha256"] == card.sha256 and got["version"] == str(card.version)
            assert got["finding"] == coding.FINDINGS[card.task]
            assert got["ood_score"] == pytest.approx(result.ood_score, abs=1e-9)
            assert got["threshold"] == pytest.approx(card.threshold, abs=1e-12)
            if result.refused:
                assert got["evaluation"] == coding.NOT_EVALUATED and got["in_distribution"] == coding.NO
                assert got["probability"] is None
            else:
                present = result.label == card.positive_label
                assert got["evaluation"] == (coding.PRESENT if present else coding.ABSENT)
                assert got["probability"] == pytest.approx(result.probabilities[card.positive_label], abs=1e-9)
                assert got["in_distribution"] == coding.YES
            frames = [int(source.get("NumberOfFrames")) // 2 + 1] if kind == "multiframe" else None
            assert got["source"] == [(source.SOPInstanceUID, frames)]


def test_refused_images_are_not_assessed(written):
    # an RGB photograph (SC, JPEG) is outside what both models were trained on; both refuse it
    _, results, outputs = written["jpeg"]
    assert all(r.refused for r in results)
    report = read_sr(next(o.path for o in outputs if o.kind == "SR"))
    assert {m["evaluation"] for m in report.values()} == {coding.NOT_EVALUATED}


def test_rerun_gives_the_same_files(written, predictors, tmp_path):
    path, results, outputs = written["mr"]
    again = write_dicom_results(path, results, predictors, tmp_path)
    assert [o.sop_instance_uid for o in again] == [o.sop_instance_uid for o in outputs]
    for first, second in zip(outputs, again):
        a, b = (without_times(pydicom.dcmread(o.path)) for o in (first, second))
        assert a == b


def test_inputs_that_cannot_carry_dicom_results_get_a_reason(predictors, tmp_path):
    png = tmp_path / "image.png"
    png.write_bytes(png_bytes())
    broken = tmp_path / "cut.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    nostudy = tmp_path / "nostudy.dcm"
    ds = pydicom.dcmread(make_sources(tmp_path)["mr"])
    del ds.StudyInstanceUID
    ds.save_as(nostudy)
    for path, reason in ((png, NOT_DICOM), (broken, "DICOM"), (nostudy, "StudyInstanceUID")):
        results = list(predict_files([path], predictors))
        outputs = write_dicom_results(path, results, predictors, tmp_path / "out")
        assert len(outputs) == 1 and reason in outputs[0].error
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


def test_patient_data_stays_out_of_logs_and_warnings(predictors, tmp_path, caplog):
    ds = pydicom.dcmread(make_sources(tmp_path)["mr"])
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "SECRETNAME", "ID-SECRET-123", "19010101"  # no caret: highdicom would warn
    path = tmp_path / "image_0001.dcm"
    ds.save_as(path)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = write_dicom_results(path, list(predict_files([path], predictors)), predictors, tmp_path / "out")
    assert all(o.ok for o in outputs)
    said = caplog.text + "".join(str(w.message) for w in caught) + repr(outputs)
    assert "SECRET" not in said.upper() and "19010101" not in said
    for output in outputs:  # ...while the objects carry the identity
        got = pydicom.dcmread(output.path)
        assert (str(got.PatientName), got.PatientID, got.PatientBirthDate) == ("SECRETNAME", "ID-SECRET-123", "19010101")
        assert "SECRET" not in os.path.basename(output.path)


def test_storage_scp_receives_both_objects_by_c_store(written):
    paths = [o.path for kind in ("multiframe", "sample_chest_xray_pneumonia_val0") for o in written[kind][2]]
    datasets = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    scp = StorageSCP({(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID) for ds in datasets})
    try:
        assert c_store(paths, scp.port) == [0x0000] * len(paths)
    finally:
        scp.shutdown()
    assert sorted(scp.received) == sorted((str(ds.SOPInstanceUID), str(ds.SOPClassUID)) for ds in datasets)
    assert {"1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.7"} <= {c for _, c in scp.received}


def test_captures_of_a_lossy_source_say_they_are_lossy(written):
    """PS3.3 C.7.6.1.1.5: derived from lossy-compressed pixels -> Lossy Image Compression 01,
    with the source's ratio and method; a lossless source's captures say nothing."""
    for kind, lossy in (("jpeg", True), ("ct", False)):
        path, _, outputs = written[kind]
        source = pydicom.dcmread(path, stop_before_pixels=True)
        for output in (o for o in outputs if o.kind == "SC"):
            sc = pydicom.dcmread(output.path)
            if lossy:
                assert sc.LossyImageCompression == "01"
                assert sc.LossyImageCompressionRatio == source.LossyImageCompressionRatio  # 17.401
                assert sc.LossyImageCompressionMethod == "ISO_10918_1"
            else:
                assert "LossyImageCompression" not in sc


def test_only_the_chosen_models_get_a_capture_with_the_chosen_heat_map(written, predictors, tmp_path):
    path, results, outputs = written["sample_chest_xray_pneumonia_val0"]
    chosen = predictors[0].card.id  # the CNN: Grad-CAM by default, occlusion chosen
    picked = write_dicom_results(path, results, predictors, tmp_path, sc_models={chosen: "occlusion"})
    assert [(o.kind, o.model, o.error) for o in picked] == [("SR", None, None), ("SC", chosen, None)]
    default = next(o for o in outputs if o.model == chosen)
    assert picked[1].sop_instance_uid != default.sop_instance_uid  # other pixels, other instance
    assert "occlusion" in pydicom.dcmread(picked[1].path).DerivationDescription
    assert dciodvfy_errors(picked[1].path) == []


def test_anonymising_a_source_with_its_results_keeps_them_together(written, tmp_path):
    """``core.anonymize`` in one run over a source, its SR and its captures: one new study and
    patient for all of them, the SR's and SC's references rewritten to the source's new UIDs, no
    original identity left, still valid for dciodvfy."""
    from meddiag_desktop.core.anonymize import anonymize_files

    path, _, outputs = written["ct"]
    original = pydicom.dcmread(path, stop_before_pixels=True)
    results = [e for e in anonymize_files([path, *(o.path for o in outputs)], tmp_path, seed="test")
               if not hasattr(e, "done")]
    assert [r.status for r in results] == ["ok"] * (1 + len(outputs)), [r.error for r in results]
    source, *objects = [pydicom.dcmread(r.output) for r in results]
    assert source.SOPInstanceUID != original.SOPInstanceUID and source.StudyInstanceUID != original.StudyInstanceUID
    sr = next(ds for ds in objects if ds.Modality == "SR")
    for ds in objects:
        for keyword in ("StudyInstanceUID", "PatientID", "PatientName", "AccessionNumber", "StudyDate"):
            assert ds.get(keyword) == source.get(keyword), keyword
        if ds.Modality != "SR":
            assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
            assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    said = read_sr(results[objects.index(sr) + 1].output)
    assert {uid for model in said.values() for uid, _ in model["source"]} == {source.SOPInstanceUID}
    (evidence,) = sr.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == source.StudyInstanceUID
    assert evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID \
        == source.SOPInstanceUID
    before = read_sr(next(o.path for o in outputs if o.kind == "SR"))
    assert {k: (v["sha256"], v["probability"], v["evaluation"]) for k, v in said.items()} \
        == {k: (v["sha256"], v["probability"], v["evaluation"]) for k, v in before.items()}  # the results stay
    for result in results:
        data = open(result.output, "rb").read()
        for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "SOPInstanceUID"):
            value = str(original.get(keyword) or "")
            assert not value or value.encode() not in data, keyword
        assert dciodvfy_errors(result.output) == [], os.path.basename(result.output)
