"""What every `meddiag` command shares: the error type, the notice, JSON output, model lookup.

Cheap to import (``meddiag --help`` loads it): numpy and torch come in through core, inside the
functions.
"""
from __future__ import annotations

import json
import sys

from ..core.metric_ci import MetricCI, format_metric, headline_metrics

NOTICE = "Decision support only - not for diagnostic use."

class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def print_json(obj) -> None:
    """``obj`` as indented JSON on stdout (numpy values and paths made plain)."""
    from ..core.metrics import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def resolve_cards(spec: str, task: str | None):
    """The model cards ``--model`` / ``--task`` name (``ModelStore.resolve``); CliError if none."""
    from ..core.model_store import ModelStore
    from ..core.storage import ModelNotFoundError

    try:
        return ModelStore().resolve(spec, task)
    except ModelNotFoundError as exc:
        raise CliError(str(exc)) from None


def printable(path: str) -> str:
    """``path`` safe to print, file names that are not valid UTF-8 included."""
    return path.encode("utf-8", "backslashreplace").decode()


def print_metrics(report: dict, labels) -> None:
    """A metrics report (``evaluate_model``, a card's validation metrics): CIs, calibration, confusion matrix."""
    for key in headline_metrics(len(labels)):
        if (m := MetricCI.from_dict(report.get(key))) is not None:
            print(f"  {key:<12} {format_metric(m.value)}  (95% CI {format_metric(m.ci_low)}-{format_metric(m.ci_high)})")
    print(f"  ECE          {report['ece']:.4f} calibrated (T={report['temperature']:.3f}), "
          f"{report['ece_uncalibrated']:.4f} before calibration")
    if report.get("threshold") is not None:
        print(f"  threshold    P({labels[report['positive']]}) >= {report['threshold']:.3f}")
    print("  confusion matrix (rows true, columns predicted): " + ", ".join(labels))
    for name, row in zip(labels, report["confusion_matrix"]):
        print(f"    {name:<16} " + " ".join(f"{v:6d}" for v in row))
