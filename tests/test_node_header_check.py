"""The node's header check reads each data set in the transfer syntax it came in (``pydicom``'s
``read_dataset`` on the data set itself; deflated ones through ``dcmread``): the SOP Instance UID
names the stored file and the routing facts travel with the arrival, for every syntax the node
accepts (a data set torn inside its header is refused: ``test_dicom_node``)."""
from __future__ import annotations

import pydicom
import pytest

from meddiag_desktop.core.intake.node import DicomNode, NodeConfig
from meddiag_desktop.core.intake.routing import facts_of
from meddiag_desktop.core.intake.store import IntakeStore

from intakekit import copies, send

SAMPLES = ["MR_small_implicit.dcm", "MR_small_bigendian.dcm", "image_dfl.dcm", "CT_small.dcm",
           "SC_rgb_rle_2frame.dcm", "JPEG2000.dcm"]


@pytest.fixture
def node(tmp_path):
    arrivals = []
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0), IntakeStore(tmp_path / "node"), arrivals.append).start()
    node.arrivals = arrivals
    yield node
    node.stop()


@pytest.mark.parametrize("name", SAMPLES)
def test_each_transfer_syntax_is_read_for_its_uid_and_facts(node, tmp_path, name):
    path = copies(name, tmp_path, 1, BodyPartExamined="CHEST")[0]
    assert send([path], node.port) == [0]
    source = pydicom.dcmread(path)
    (arrival,) = node.arrivals
    assert arrival.rejected is None
    assert arrival.name.startswith(str(source.SOPInstanceUID))
    assert arrival.facts == facts_of(source)
    assert arrival.facts.modality == source.Modality and arrival.facts.body_part == "CHEST"
    assert pydicom.dcmread(node.store.instances / arrival.name).SOPInstanceUID == source.SOPInstanceUID
