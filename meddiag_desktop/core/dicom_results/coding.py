"""The codes our DICOM results use: standard ones (SNOMED CT, DCM, UCUM) where DICOM has one, a
private project scheme ``99MEDDIAG`` where it has none.

Private scheme ``99MEDDIAG`` (declared in each SR's Coding Scheme Identification Sequence):

=========  ====================================================================================
MDD001     Calibrated probability of finding: the model's calibrated P(finding), unit UCUM "1"
MDD002     Operating threshold: the model card's threshold on that probability (Present if >=)
MDD003     Out-of-distribution score: OOD distance / the card's OOD threshold (> 1: outside)
MDD004     Inside model training distribution: qualitative, SCT Yes / No
MDD010     Convolutional neural network      (algorithm family of a ``cnn`` model)
MDD011     Vision transformer                (``transformer``)
MDD012     Recurrent neural network          (``rnn``)
MDD019     Neural network                    (any other family)
MDL-<lbl>  Model finding <lbl>: the positive label of a task with no SNOMED CT code (demo models)
=========  ====================================================================================

Standard codes: findings SCT 233604007 "Pneumonia" (task ``pneumonia``) and SCT 254837009
"Malignant neoplasm of breast" (task ``breast``); evaluations SCT 52101004 "Present" /
SCT 272519000 "Absent" at the operating point, SCT 373121007 "Not Evaluated" for an image the
model refused as outside its training data (then MDD004 is SCT 373067005 "No"); procedure
reported SCT 363679005 "Imaging procedure".
"""
from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

SCHEME = "99MEDDIAG"

PROBABILITY = Code("MDD001", SCHEME, "Calibrated probability of finding")
THRESHOLD = Code("MDD002", SCHEME, "Operating threshold")
OOD_SCORE = Code("MDD003", SCHEME, "Out-of-distribution score")
IN_DISTRIBUTION = Code("MDD004", SCHEME, "Inside model training distribution")
FAMILIES = {
    "cnn": Code("MDD010", SCHEME, "Convolutional neural network"),
    "transformer": Code("MDD011", SCHEME, "Vision transformer"),
    "rnn": Code("MDD012", SCHEME, "Recurrent neural network"),
}
OTHER_FAMILY = Code("MDD019", SCHEME, "Neural network")

FINDINGS = {
    "pneumonia": Code("233604007", "SCT", "Pneumonia"),
    "breast": Code("254837009", "SCT", "Malignant neoplasm of breast"),
}
PRESENT = codes.SCT.Present  # 52101004
ABSENT = codes.SCT.Absent  # 272519000
NOT_EVALUATED = Code("373121007", "SCT", "Not Evaluated")
YES, NO = codes.SCT.Yes, codes.SCT.No
NO_UNITS = codes.UCUM.NoUnits  # "1"
PROCEDURE = Code("363679005", "SCT", "Imaging procedure")


def finding_code(task: str, label: str) -> Code:
    """The finding a model reports: SNOMED CT for the shipped tasks, else ``MDL-<label>``."""
    if task in FINDINGS:
        return FINDINGS[task]
    return Code(f"MDL-{label}"[:64], SCHEME, f"Model finding {label}"[:64])


def family_code(arch: str) -> Code:
    return FAMILIES.get(arch, OTHER_FAMILY)


def scheme_identification() -> Dataset:
    """The Coding Scheme Identification Sequence item that declares ``99MEDDIAG``."""
    item = Dataset()
    item.CodingSchemeDesignator = SCHEME
    item.CodingSchemeName = "MedDiag Desktop result codes"
    item.CodingSchemeResponsibleOrganization = "MedDiag Desktop project"
    return item
