#!/usr/bin/env python
"""Write the bundled sample images (resources/samples/) from the MedMNIST *validation* splits.

The first validation image of each class is taken (no cherry-picking). One chest X-ray is also
wrapped in a DICOM file (CR, 12-bit stored, rescale + window, MONOCHROME2) and a MONOCHROME1 twin,
with no patient identifiers (empty type 2 patient and study attributes), so the DICOM path can be
tried without real patient data. Both lie in one made-up study; their UIDs are derived from the
file names, so re-running the script gives the same files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

ROOT = Path(__file__).resolve().parents[1]
DATASETS, OUT = ROOT / "resources" / "datasets", ROOT / "resources" / "samples"
SOURCES = {
    "chest_xray": ("pneumoniamnist_trainval.npz", ("normal", "pneumonia")),
    "breast_ultrasound": ("breastmnist_trainval.npz", ("malignant", "normal-benign")),
}


def first_of_each_class(npz: Path):
    d = np.load(npz)
    images, labels = d["val_images"], d["val_labels"].ravel()
    return {int(c): (int(np.flatnonzero(labels == c)[0]), images[labels == c][0]) for c in np.unique(labels)}


def write_dicom(path: Path, image: np.ndarray, monochrome1: bool = False) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["meddiag sample", path.name])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.BodyPartExamined = "CR", "CHEST"
    ds.PatientName, ds.PatientID = "", ""  # sample data: no identifiers
    ds.PatientBirthDate = ds.PatientSex = ds.ReferringPhysicianName = ""
    ds.StudyDate = ds.StudyTime = ds.StudyID = ds.AccessionNumber = ds.PatientOrientation = ""
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["meddiag sample study"])  # DICOM results join it
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["meddiag sample series", path.name])
    ds.SeriesNumber, ds.InstanceNumber, ds.ConversionType = 1, 1, "WSD"
    stored = image.astype(np.uint16) * 16  # 8-bit source into a 12-bit range
    if monochrome1:
        stored = 4095 - stored
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = 1, 0, "US"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.ImagerPixelSpacing = [0.7, 0.7]
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)


def main(dicom_only: bool = False) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for stem, (npz, names) in SOURCES.items():
        for cls, (index, image) in first_of_each_class(DATASETS / npz).items():
            if not dicom_only:
                Image.fromarray(image).save(OUT / f"{stem}_{names[cls]}_val{index}.png")
            if stem == "chest_xray" and names[cls] == "pneumonia":
                write_dicom(OUT / f"{stem}_{names[cls]}_val{index}.dcm", image)
                write_dicom(OUT / f"{stem}_{names[cls]}_val{index}_monochrome1.dcm", image, monochrome1=True)
    print("\n".join(sorted(p.name for p in OUT.iterdir())))


if __name__ == "__main__":
    import sys

    main(dicom_only="--dicom-only" in sys.argv[1:])
