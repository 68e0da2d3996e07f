"""The outbox (issue 17) without a network: permanent refusals (a status retrying cannot change)
leave for ``outbox/failed/`` with a patient-free reason record and are not retried; transient
failures stay and are retried with back-off; the status rule of ``sender.classify_status``."""
from __future__ import annotations

import json
import time

import pytest

from meddiag_desktop.core.intake.events import Delivered, DeliveryFailed, Refused
from meddiag_desktop.core.intake.outbox import Outbox
from meddiag_desktop.core.intake.sender import classify_status

from intakekit import wait_until


@pytest.mark.parametrize("code", [0x0000, 0xB000, 0xB006, 0xB007])
def test_success_and_warnings_are_delivered(code):
    assert classify_status(code) is None


@pytest.mark.parametrize("code", [0xA900, 0xA9FF, 0xC000, 0xC001, 0xCFFF, 0x0122, 0x0124, 0x0111, 0x0120, 0x0212])
def test_statuses_retrying_cannot_change_are_permanent(code):
    outcome = classify_status(code)
    assert isinstance(outcome, Refused) and f"0x{code:04X}" in outcome.reason


@pytest.mark.parametrize("code", [None, 0xA700, 0xA7FF, 0x0110, 0x0210, 0x0213, 0xFE00, 0xA800, 0x1234])
def test_other_failures_are_transient(code):
    outcome = classify_status(code)
    assert isinstance(outcome, str) and outcome


def test_a_refused_file_moves_to_failed_and_transient_ones_are_retried(tmp_path):
    calls: dict[str, int] = {}

    def send(paths):
        outcome = {}
        for path in paths:
            calls[path.name] = calls.get(path.name, 0) + 1
            if path.name == "refused.dcm":
                outcome[path] = Refused("status 0xC001 (cannot understand)")
            elif path.name == "busy.dcm" and calls[path.name] < 3:
                outcome[path] = "status 0xA700 (out of resources)"
            else:
                outcome[path] = None
        return outcome

    for name in ("refused.dcm", "busy.dcm", "fine.dcm"):
        (tmp_path / name).write_bytes(name.encode())
    events: list = []
    outbox = Outbox(tmp_path / "outbox", send, "PACS@127.0.0.1:1", notify=events.append, first_retry_s=0.05,
                    max_retry_s=0.2)
    for name in ("refused.dcm", "busy.dcm", "fine.dcm"):
        outbox.put(tmp_path / name)
    outbox.start()
    try:
        wait_until(lambda: sum(isinstance(e, Delivered) for e in events) == 2, 10, "two deliveries")
    finally:
        outbox.stop()
    assert calls["refused.dcm"] == 1  # never retried
    assert calls["busy.dcm"] == 3
    [permanent] = [e for e in events if isinstance(e, DeliveryFailed) and e.permanent]
    assert permanent.name == "refused.dcm" and "cannot understand" in permanent.reason
    transient = [e for e in events if isinstance(e, DeliveryFailed) and not e.permanent]
    assert [e.attempt for e in transient] == [1, 2] and transient[1].retry_in_s == 2 * transient[0].retry_in_s
    assert outbox.waiting() == [] and [p.name for p in outbox.refused()] == ["refused.dcm"]
    record = json.loads((outbox.failed / "refused.dcm.json").read_text())
    assert record == {"name": "refused.dcm", "destination": "PACS@127.0.0.1:1",
                      "reason": "status 0xC001 (cannot understand)", "attempts": 1,
                      "refused_at": record["refused_at"]}

    # A restart does not send what was refused.
    calls.clear()
    outbox = Outbox(tmp_path / "outbox", send, "PACS@127.0.0.1:1", first_retry_s=0.05)
    outbox.start()
    time.sleep(0.3)  # a few turns of its loop
    outbox.stop()
    assert calls == {} and [p.name for p in outbox.refused()] == ["refused.dcm"]
