"""The house reshaping (issue 14) must not change what users see: ``meddiag predict --json``,
``meddiag scan``'s CSV and ``meddiag models --json`` on the bundled samples are compared with files
recorded before it (``tests/golden/``; re-record with ``python tests/test_golden_outputs.py``).

Paths are given relative to the repository and the machine-dependent ``source`` folder of
``models --json`` is compared by name; numbers are compared to 1e-6 (thread counts may move the
last bits of a float; the scan CSV prints 6 decimals, so there a last-bit difference may flip the rounding of a
cell by one unit: 2e-6), every other byte exactly."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = sorted(f"resources/samples/{n}" for n in os.listdir(REPO / "resources" / "samples"))


def _run_cli(argv: list[str]) -> str:
    from meddiag_desktop.cli import main

    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        with redirect_stdout(out):
            assert main(argv) == 0
    finally:
        os.chdir(cwd)
    return out.getvalue()


def predict_json() -> list:
    return json.loads(_run_cli(["predict", *SAMPLES, "--json", "--device", "cpu"]))


def models_json() -> list:
    records = json.loads(_run_cli(["models", "--json"]))
    for r in records:
        r["source"] = Path(r["source"]).name  # an absolute folder: the clone's own
    return records


def scan_csv(tmp: Path) -> list[list[str]]:
    out = tmp / "scan.csv"
    _run_cli(["scan", "resources/samples", "--out", str(out), "--device", "cpu", "--workers", "0"])
    with open(out, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _same(a, b, where="", tolerance: float = 1e-6) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{where}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=tolerance), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}", tolerance)
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]", tolerance)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _cell(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _load(name: str):
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def test_predict_json_unchanged():
    _same(predict_json(), _load("predict.json"), "predict")


def test_models_json_unchanged():
    _same(models_json(), _load("models.json"), "models")


def test_scan_csv_unchanged(tmp_path):
    rows = [[_cell(c) for c in row] for row in scan_csv(tmp_path)]
    expected = [[_cell(c) for c in row] for row in _load("scan.json")]
    assert rows[0] == expected[0]  # the header, exactly
    _same(rows, expected, "scan", tolerance=2e-6)  # one unit of the CSV's 6th decimal, and float slack


if __name__ == "__main__":  # re-record (only when a change of output is intended and reviewed)
    import tempfile

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as home:
        os.environ["MEDDIAG_HOME"] = home
        GOLDEN.mkdir(exist_ok=True)
        for name, value in (("predict.json", predict_json()), ("models.json", models_json()),
                            ("scan.json", scan_csv(Path(home)))):
            (GOLDEN / name).write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
            print("recorded", GOLDEN / name, file=sys.stderr)
