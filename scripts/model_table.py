#!/usr/bin/env python
"""The README's table of the shipped models, read from their cards (``weights/*.json``).

    python scripts/model_table.py [--before GIT_REV] [--write]

One row per model: how its figures were obtained (5-fold cross-validated out-of-fold predictions of
every labelled image, or the validation split), accuracy / sensitivity / specificity / AUC with
bootstrap 95 % CIs at the card's operating threshold, calibrated ECE, the expected refusal of
in-distribution images, the share of foreign images its OOD detector refuses (the other shipped
task's validation images; pydicom's CT, MR and colour photographs), and the same metrics on the
scanner-shifted copy (``core.robustness``).
``--before REV`` adds the accuracy / AUC of the cards at that git revision (read with ``git show``).
``--ood``: the OOD detectors' table instead (per reference set, AUROC and the share refused at the
card's threshold), between ``<!-- OOD_TABLE -->`` markers.
``--write`` replaces the block between ``<!-- MODEL_TABLE -->`` (or ``<!-- OOD_TABLE -->``) markers in README.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("pneumonia-cnn", "pneumonia-rnn", "pneumonia-transformer", "breast-cnn", "breast-rnn", "breast-transformer")
START, END = "<!-- MODEL_TABLE -->", "<!-- /MODEL_TABLE -->"
OOD_START, OOD_END = "<!-- OOD_TABLE -->", "<!-- /OOD_TABLE -->"
OOD_SETS = ("pydicom CT", "pydicom MR", "pydicom RGB photograph", "pydicom US", "uniform noise")


def ci(entry: dict | None) -> str:
    if not entry:
        return "–"
    return f"{entry['value']:.3f} ({entry['ci_low']:.3f}-{entry['ci_high']:.3f})"


def value(entry: dict | None) -> str:
    return "–" if not entry else f"{entry['value']:.3f}"


def expected_refusal(card: dict) -> float | None:
    """Share of in-distribution images the OOD detector refuses: nested out-of-fold for a
    cross-validated card, else the validation split's."""
    cv = card["metrics"].get("cross_validation")
    if cv:
        return cv["ood"]["refused_in_distribution_nested"]
    return (card.get("ood") or {}).get("flagged", {}).get("validation (in-distribution)")


FOREIGN = ("pydicom CT", "pydicom MR", "pydicom RGB photograph")


def foreign_refusal(card: dict) -> str:
    """Refused by the OOD detector: the other task's validation images / pydicom CT / MR / RGB photographs."""
    flagged = (card.get("ood") or {}).get("flagged", {})
    other = next((v for k, v in flagged.items() if k.endswith("mnist validation")), None)
    cells = [other, *(flagged.get(name) for name in FOREIGN)]
    return " / ".join("–" if v is None else "100" if v == 1 else f"{100 * v:.1f}" for v in cells) + " %"


def card_at(rev: str, model_id: str) -> dict:
    text = subprocess.run(["git", "show", f"{rev}:weights/{model_id}.json"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    return json.loads(text)


def table(before: str | None = None) -> str:
    head = ["model", "figures from", "ACC (95 % CI)", "AUC (95 % CI)", "sensitivity / specificity", "ECE",
            "refused in-distribution", "refused: other task / CT / MR / RGB", "shifted ACC / AUC", "threshold"]
    if before:
        head.append(f"before ({before}: validation split) ACC / AUC")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model_id in MODELS:
        card = json.loads((ROOT / "weights" / f"{model_id}.json").read_text())
        m, shifted = card["metrics"]["validation"], card["metrics"].get("shifted", {})
        refusal = expected_refusal(card)
        row = [model_id, m.get("evaluation", f"validation split, n = {m['n']}"), ci(m["accuracy"]), ci(m["auc"]),
               f"{value(m.get('sensitivity'))} / {value(m.get('specificity'))}", f"{m['ece']:.3f}",
               "–" if refusal is None else f"{100 * refusal:.1f} %", foreign_refusal(card),
               f"{value(shifted.get('accuracy'))} / {value(shifted.get('auc'))}" if shifted else "–",
               f"{card['threshold']:.3f}" if card.get("threshold") is not None else "–"]
        if before:
            old = card_at(before, model_id)["metrics"]["validation"]
            row.append(f"{value(old['accuracy'])} / {value(old['auc'])} (n = {old['n']})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ood_table() -> str:
    """AUROC (refused at the threshold) per reference set, and the refusal of in-distribution images."""
    head = ["model", "detector", "other task's validation images", *OOD_SETS, "own images refused",
            "own scanner-shifted images refused"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model_id in MODELS:
        card = json.loads((ROOT / "weights" / f"{model_id}.json").read_text())
        detector = card.get("ood") or {}
        auroc, flagged = detector.get("auroc", {}), detector.get("flagged", {})

        def cell(name):
            return "–" if name not in auroc else f"{auroc[name]:.3f} ({100 * flagged[name]:.1f} %)"

        other = next((k for k in auroc if k.endswith("mnist validation")), "")
        cv_ood = (card["metrics"].get("cross_validation") or {}).get("ood", {})
        shifted = cv_ood.get("refused_scanner_shifted")
        own = expected_refusal(card)
        lines.append("| " + " | ".join([
            model_id, "features + input statistics + modality check" if "input_statistics" in detector else "features",
            cell(other), *(cell(name) for name in OOD_SETS), "–" if own is None else f"{100 * own:.1f} %",
            "–" if shifted is None else f"{100 * shifted:.1f} % (out-of-fold)"]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="git revision whose cards give the 'before' column")
    parser.add_argument("--ood", action="store_true", help="the OOD detectors' table instead")
    parser.add_argument("--write", action="store_true", help=f"replace the {START} (or {OOD_START}) block in README.md")
    args = parser.parse_args(argv)
    text = ood_table() if args.ood else table(args.before)
    start, end = (OOD_START, OOD_END) if args.ood else (START, END)
    if not args.write:
        print(text)
        return 0
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    if start not in content or end not in content:
        print(f"README.md has no {start} ... {end} block", file=sys.stderr)
        return 1
    head, rest = content.split(start, 1)
    readme.write_text(f"{head}{start}\n{text}\n{end}{rest.split(end, 1)[1]}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
