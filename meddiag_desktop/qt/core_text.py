"""Texts that reach the window from core and from the Qt-free helpers (``display_names``, ``reading_text``,
``qt.jobs``), shown in the window's language. Core and the CLI stay English: the window translates
here, at display time, by exact text (the catalogue below) or by pattern (texts with numbers or names
in them); anything not listed is shown as it came. Numbers are formatted with the default QLocale
(``i18n.install`` sets it).
"""
from __future__ import annotations

import re

from PySide6.QtCore import QT_TRANSLATE_NOOP, QLocale

from meddiag_desktop.core.tasks import TASKS

from . import display_names, reading_text
from .i18n import translate

# Class labels of the shipped tasks, methods, metrics, devices, task titles: their display words.
CATALOGUE = (
    QT_TRANSLATE_NOOP("CoreText", "normal"), QT_TRANSLATE_NOOP("CoreText", "pneumonia"),
    QT_TRANSLATE_NOOP("CoreText", "malignant"), QT_TRANSLATE_NOOP("CoreText", "benign"),
    QT_TRANSLATE_NOOP("CoreText", "normal-benign"), QT_TRANSLATE_NOOP("CoreText", "abnormal"),
    QT_TRANSLATE_NOOP("CoreText", "Paediatric chest X-ray: pneumonia"),
    QT_TRANSLATE_NOOP("CoreText", "Breast ultrasound: malignancy"),
    QT_TRANSLATE_NOOP("CoreText", "Attention rollout"), QT_TRANSLATE_NOOP("CoreText", "Occlusion"),
    QT_TRANSLATE_NOOP("CoreText", "Accuracy"), QT_TRANSLATE_NOOP("CoreText", "Sensitivity"),
    QT_TRANSLATE_NOOP("CoreText", "Specificity"), QT_TRANSLATE_NOOP("CoreText", "Macro F1"),
    QT_TRANSLATE_NOOP("CoreText", "sensitivity"), QT_TRANSLATE_NOOP("CoreText", "specificity"),
    QT_TRANSLATE_NOOP("CoreText", "Macro AUC"), QT_TRANSLATE_NOOP("CoreText", "Auto (GPU if available)"),
    # progress texts of core and qt.jobs
    QT_TRANSLATE_NOOP("CoreText", "Done"), QT_TRANSLATE_NOOP("CoreText", "Reading the data set…"),
    QT_TRANSLATE_NOOP("CoreText", "Preparing the images…"),
    QT_TRANSLATE_NOOP("CoreText", "Evaluating the base and the new model on the validation set…"),
    QT_TRANSLATE_NOOP("CoreText", "Re-fitting the operating point on the validation set…"),
    QT_TRANSLATE_NOOP("CoreText", "Re-fitting the operating point on the out-of-fold predictions…"),
    QT_TRANSLATE_NOOP("CoreText", "Saving the new version…"), QT_TRANSLATE_NOOP("CoreText", "Reading patient names…"),
    QT_TRANSLATE_NOOP("CoreText", "Reading the queue…"), QT_TRANSLATE_NOOP("CoreText", "Ranking the scanned images…"),
    QT_TRANSLATE_NOOP("CoreText", "Estimating the local accuracy…"), QT_TRANSLATE_NOOP("CoreText", "Writing CSV…"),
    QT_TRANSLATE_NOOP("CoreText", "Loading PyTorch…"), QT_TRANSLATE_NOOP("CoreText", "Predicting…"),
    QT_TRANSLATE_NOOP("CoreText", "Writing DICOM results…"), QT_TRANSLATE_NOOP("CoreText", "Preparing the report…"),
    QT_TRANSLATE_NOOP("CoreText", "Comparing with the base model (bootstrap CIs)…"),
    QT_TRANSLATE_NOOP("CoreText", "analysed"),
    # core.review.ranking: why an image is in the review queue
    QT_TRANSLATE_NOOP("CoreText", "uncertain"), QT_TRANSLATE_NOOP("CoreText", "disagreement"),
    QT_TRANSLATE_NOOP("CoreText", "near-OOD"), QT_TRANSLATE_NOOP("CoreText", "refused"),
    QT_TRANSLATE_NOOP("CoreText", "random"),
    # core.report and core.io
    QT_TRANSLATE_NOOP("CoreText", "Decision support only — not for diagnostic use. The models are research prototypes "
                      "trained on low-resolution benchmark data and are not clinically validated; every finding "
                      "must be confirmed by a qualified clinician."),
    QT_TRANSLATE_NOOP("CoreText", "Within training distribution"),
    QT_TRANSLATE_NOOP("CoreText", "OUTSIDE what this model was trained on"),
    QT_TRANSLATE_NOOP("CoreText", "not assessed"), QT_TRANSLATE_NOOP("CoreText", "not predicted"),
    QT_TRANSLATE_NOOP("CoreText", "no decision: the image is outside what this model was trained on"),
    QT_TRANSLATE_NOOP("CoreText", "could not load image"), QT_TRANSLATE_NOOP("CoreText", "empty file (0 bytes)"),
    QT_TRANSLATE_NOOP("CoreText", "not an image"), QT_TRANSLATE_NOOP("CoreText", "truncated file"),
    QT_TRANSLATE_NOOP("CoreText", "corrupt or unsupported image data"),
    QT_TRANSLATE_NOOP("CoreText", "image too large"),
)

# (pattern of the English text, its translatable template): the groups fill the template's {0}, {1}...
# A group named ``label`` is a class label and is translated too.
PATTERNS = tuple((re.compile(pattern), template) for pattern, template in (
    (r"^Loading (.+)…$", QT_TRANSLATE_NOOP("CoreText", "Loading {0}…")),
    (r"^Computing (.+)…$", QT_TRANSLATE_NOOP("CoreText", "Computing {0}…")),
    (r"^DICOM results: (\d+) / (\d+) files$", QT_TRANSLATE_NOOP("CoreText", "DICOM results: {0} / {1} files")),
    (r"^Cross-validation: fold (\d+) of (\d+)$", QT_TRANSLATE_NOOP("CoreText", "Cross-validation: fold {0} of {1}")),
    (r"^Training the final model on all (\d+) images$",
     QT_TRANSLATE_NOOP("CoreText", "Training the final model on all {0} images")),
    (r"^De-identifying file (\d+) of (\d+)…$", QT_TRANSLATE_NOOP("CoreText", "De-identifying file {0} of {1}…")),
    (r"^Comparing with the base model on all (\d+) images \(bootstrap CIs\)…$",
     QT_TRANSLATE_NOOP("CoreText", "Comparing with the base model on all {0} images (bootstrap CIs)…")),
    (r"^error: (.*)$", QT_TRANSLATE_NOOP("CoreText", "error: {0}")),
    (r"^outside training data \(OOD score ([\d.]+)\)$",
     QT_TRANSLATE_NOOP("CoreText", "outside training data (OOD score {0})")),
    (r"^(?P<label>.+) \(P\((?P<pos>.+)\) = ([\d.]+) (≥|<) operating point ([\d.]+)\)$",
     QT_TRANSLATE_NOOP("CoreText", "{0} (P({1}) = {2} {3} operating point {4})")),
    (r"^(?P<label>.+) \(top class, p = ([\d.]+); no operating point\)$",
     QT_TRANSLATE_NOOP("CoreText", "{0} (top class, p = {1}; no operating point)")),
    (r"^(\d+)-bit$", QT_TRANSLATE_NOOP("CoreText", "{0}-bit")),
    (r"^(\d+) channels$", QT_TRANSLATE_NOOP("CoreText", "{0} channels")),
    (r"^modality (.+)$", QT_TRANSLATE_NOOP("CoreText", "modality {0}")),
    (r"^frame (\d+) of (\d+)$", QT_TRANSLATE_NOOP("CoreText", "frame {0} of {1}")),
))
LABEL_GROUPS = ("label", "pos")


def core_text(text: str | None) -> str:
    """``text`` (English, from core or a Qt-free module) in the window's language."""
    if not text:
        return text or ""
    translated = translate("CoreText", text)
    if translated != text:
        return translated
    for pattern, template in PATTERNS:
        match = pattern.match(text)
        if match is not None:
            names = {i: name for name, i in pattern.groupindex.items()}
            values = [label_name(g) if names.get(i) in LABEL_GROUPS else core_text(g)
                      for i, g in enumerate(match.groups(), start=1)]
            return translate("CoreText", template).format(*values)
    return text


def label_name(label: str | None) -> str:
    """A class label ("pneumonia", "malignant") in the window's language; a label the catalogue does not
    know (a fine-tuned label set) is shown as it is."""
    return translate("CoreText", label) if label else (label or "")


def task_title(task: str | None) -> str:
    return translate("CoreText", TASKS[task].title) if task in TASKS else (task or "–")


def family_name(arch: str) -> str:
    return display_names.family_name(arch)  # CNN / RNN / Transformer: the same in every language


def method_name(method: str) -> str:
    return translate("CoreText", display_names.method_name(method))


def metric_name(key: str) -> str:
    return translate("CoreText", display_names.metric_name(key))


def device_name(device: str) -> str:
    return translate("CoreText", display_names.DEVICE_NAMES.get(device, device))


# ----------------------------------------------------------------------------- numbers
def number(value: float, digits: int = 1) -> str:
    return QLocale().toString(float(value), "f", digits)


def percent(p: float | None) -> str:
    """``reading_text.format_probability`` with the locale's digits: "73.4 %", "> 99 %", "< 1 %", "–"."""
    if p is None or p != p:
        return "–"
    if p > reading_text.HIGH:
        return "> " + QLocale().toString(99) + " %"
    if p < reading_text.LOW:
        return "< " + QLocale().toString(1) + " %"
    return f"{number(100 * float(p))} %"


def fraction(p: float, digits: int = 2) -> str:
    """``reading_text.format_fraction`` with the locale's digits: "= 0.71", "> 0.99", "< 0.01"."""
    p = float(p)
    if p > reading_text.HIGH:
        return "> " + number(0.99, 2)
    if p < reading_text.LOW:
        return "< " + number(0.01, 2)
    return "= " + number(p, digits)


def date_time(when) -> str:
    """A datetime in the locale's short format."""
    from PySide6.QtCore import QDateTime

    return QLocale().toString(QDateTime(when), QLocale.FormatType.ShortFormat)


# ----------------------------------------------------------------------------- reading texts
def result_summary(result) -> str:
    """``reading_text.result_summary`` in the window's language: "肺炎 97.2 %", the refusal or the error."""
    if result.status != "ok":
        return translate("CoreText", "error: {0}").format(core_text(result.error))
    if result.refused:
        return translate("CoreText", "outside training data (OOD score {0})").format(number(result.ood_score, 2))
    return f"{label_name(result.label)} {percent(result.probability)}"


def operating_metrics(card) -> str:
    """``reading_text.operating_metrics_text`` in the window's language."""
    from meddiag_desktop.core.metric_ci import format_metric_ci

    parts = []
    for name in ("sensitivity", "specificity"):
        metric = card.metric(name)
        if metric is not None and metric.value is not None:
            parts.append(f"{translate('CoreText', name)} {format_metric_ci(metric, dash='–')}")
    return translate("CoreText", "Expected {0}").format(" · ".join(parts)) if parts else ""


def heatmap_caption(method: str, family: str, target_label: str, decision: str | None,
                    class_agnostic: bool = False, empty: bool = False) -> str:
    """``reading_text.heatmap_caption`` in the window's language (``method`` / ``family``: display names)."""
    target = label_name(target_label)
    if class_agnostic:
        text = translate("CoreText", "{0} of the {1}: where it looked (not specific to a class)").format(method, family)
    else:
        text = translate("CoreText", "{0} of the {1} for “{2}”").format(method, family, target)
        if decision is not None and decision != target_label:
            text += translate("CoreText", " — evidence for {0}, although the decision is {1}").format(
                target, label_name(decision))
    if empty:
        text += translate("CoreText", ": empty map (no region raised this prediction)")
    return text
