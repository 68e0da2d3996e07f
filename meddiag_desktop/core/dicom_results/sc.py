"""The secondary capture: the analysed frame (windowed, 8-bit RGB) with one model's heat-map
blended in and a banner burned in above it (model, decision, probability, "NOT FOR DIAGNOSTIC
USE", a colour legend), in the source's study, new series, referencing the source image.

Rendering is numpy + Pillow (its built-in default font), no Qt. Small images are enlarged by an
integer factor (nearest neighbour) to at least ``MIN_WIDTH`` pixels so the banner stays legible;
large ones are reduced to at most ``MAX_SIDE``.
"""
from __future__ import annotations

import math

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from .. import explain as explain_module
from .source import SourceInstance, copy_identity, derived_uid, identity_free
from .sr import MANUFACTURER, MODEL_NAME, NOT_FOR_DIAGNOSIS, finding_label, processing_equipment

SC_SERIES_NUMBER = 9902
SC_SERIES_DESCRIPTION = f"MedDiag AI heat-maps - {NOT_FOR_DIAGNOSIS}"
MIN_WIDTH, MAX_SIDE = 512, 2048
HEAT_ALPHA = 0.45  # opacity of the heat-map at its maximum
METHOD_NAMES = {"gradcam": "Grad-CAM", "attention": "attention rollout", "occlusion": "occlusion"}
# lossy transfer syntaxes -> Lossy Image Compression Method (PS3.3 C.7.6.1.1.5.1)
LOSSY_METHODS = {"1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1",
                 "1.2.840.10008.1.2.4.91": "ISO_15444_1", "1.2.840.10008.1.2.4.81": "ISO_14495_1",
                 "1.2.840.10008.1.2.4.203": "ISO_15444_15"}
_COLOURS = np.array([[0, 0, 128], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0], [128, 0, 0]],
                    np.float32)  # a jet-like map: blue (low) -> red (high)


def colormap(values: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) float RGB in [0, 255], blue to red."""
    stops = np.linspace(0.0, 1.0, len(_COLOURS))
    flat = np.clip(values, 0.0, 1.0).ravel()
    return np.stack([np.interp(flat, stops, _COLOURS[:, c]) for c in range(3)], axis=1).reshape(*values.shape, 3)


def _resized(rgb: np.ndarray, heat: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    height, width = rgb.shape[:2]
    if width < MIN_WIDTH and max(height, width) * math.ceil(MIN_WIDTH / width) <= MAX_SIDE * 2:
        factor = math.ceil(MIN_WIDTH / width)
        grow = lambda a: np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)  # noqa: E731
        return grow(rgb), None if heat is None else grow(heat)
    if max(height, width) > MAX_SIDE:
        scale = MAX_SIDE / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))
        if heat is not None:
            heat = np.asarray(Image.fromarray(heat.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))
        return small, heat
    return rgb, heat


def _font(draw: ImageDraw.ImageDraw, lines: list[str], room: int):
    size = max(10, room // 34)
    while True:
        try:
            font = ImageFont.load_default(size=size)
        except ImportError:  # a Pillow without FreeType: its fixed bitmap font
            return ImageFont.load_default(), 11
        if size <= 8 or max(draw.textlength(line, font=font) for line in lines) <= room:
            return font, size
        size -= 1


def render(image: np.ndarray, heatmap: np.ndarray | None, lines: list[str]) -> np.ndarray:
    """The capture's pixels: ``image`` in [0, 1] ((H, W) or (H, W, 3)) as RGB, ``heatmap`` in
    [0, 1] (H, W) blended in (opacity grows with the value), a banner of ``lines`` above it and,
    with a heat-map, a low-high colour legend. Returns uint8 (rows, cols, 3)."""
    grey = image.ndim == 2
    rgb = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    rgb = np.repeat(rgb[..., None], 3, axis=2) if grey else rgb[..., :3]
    rgb, heat = _resized(rgb, heatmap)
    if heat is not None:
        alpha = (HEAT_ALPHA * np.clip(heat, 0.0, 1.0))[..., None]
        rgb = np.round(rgb * (1 - alpha) + colormap(heat) * alpha).astype(np.uint8)
    width = rgb.shape[1]
    pad, legend = max(4, width // 100), (width // 5 if heat is not None else 0)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    font, size = _font(probe, lines, width - 3 * pad - legend)
    line_height = round(size * 1.3)
    banner = Image.new("RGB", (width, 2 * pad + line_height * len(lines)), (0, 0, 0))
    draw = ImageDraw.Draw(banner)
    for i, line in enumerate(lines):
        colour = (255, 220, 0) if i == 0 else (255, 255, 255)
        draw.text((pad, pad + i * line_height), line, fill=colour, font=font)
    if legend:
        bar = colormap(np.tile(np.linspace(0, 1, legend - 2 * pad), (line_height, 1))).astype(np.uint8)
        left = width - legend + pad
        banner.paste(Image.fromarray(bar), (left, pad))
        draw.text((left, pad + line_height), "low", fill=(255, 255, 255), font=font)
        high = draw.textlength("high", font=font)
        draw.text((left + bar.shape[1] - high, pad + line_height), "high", fill=(255, 255, 255), font=font)
    return np.concatenate([np.asarray(banner), rgb], axis=0)


def banner_lines(result, card, method: str | None) -> list[str]:
    """The burned-in text: notice, model, decision (or refusal) and what the colours mean."""
    lines = [f"AI RESULT - NOT FOR DIAGNOSTIC USE - {MODEL_NAME}",
             f"Model {card.id} ({card.config.arch}, version {card.version})" + (" - DEMO model" if card.demo else "")]
    label = finding_label(result, card)
    if result.refused:
        lines.append(f"{label}: NOT ASSESSED - outside what this model was trained on "
                     f"(OOD score {result.ood_score:.2f})")
    else:
        decision = "PRESENT" if result.label == label else "ABSENT"
        threshold = "" if card.threshold is None else f", threshold {card.threshold:.3f}"
        lines.append(f"{label}: {decision}  (P({label}) = {result.probabilities[label]:.3f}{threshold})")
    if method:
        lines.append(f"Heat-map: {METHOD_NAMES.get(method, method)} for '{label}' (red = most influential)")
    return lines


def heatmap_for(predictor, source: SourceInstance, result,
                method: str | None = None) -> tuple[np.ndarray | None, str | None]:
    """The heat-map (``core.explain``; ``method`` None: the family's default) of the finding;
    none for a refused image."""
    if result.refused:
        return None, None
    card = predictor.card
    target = card.labels.index(finding_label(result, card))
    explanation = explain_module.explain(predictor.model, card.config, source.image.array, method=method,
                                         target=target)
    return explanation.heatmap, explanation.method


def sc_uids(source: SourceInstance, card, method: str | None = None) -> tuple[str, str]:
    """(series, instance) UIDs: one SC series per study; the instance follows from the source
    instance, its frame, the model (id + weights sha256) and a heat-map method other than the
    family's default."""
    series = derived_uid(source.header.StudyInstanceUID, "SC series")
    other = [method] if method and method != explain_module.default_method(card.config.arch) else []
    return series, derived_uid(source.sop_instance_uid, source.frame_number, "SC", card.id, card.sha256, *other)


def copy_lossy_compression(sc, header: Dataset) -> None:
    """A capture derived from a lossy-compressed source is lossy too (PS3.3 C.7.6.1.1.5): Lossy
    Image Compression "01" with the source's ratio and method, or the transfer syntax's method."""
    syntax = getattr(getattr(header, "file_meta", None), "TransferSyntaxUID", None)
    lossy_syntax = syntax is not None and syntax in LOSSY_METHODS
    if str(header.get("LossyImageCompression", "")).strip() != "01" and not lossy_syntax:
        return
    sc.LossyImageCompression = "01"
    ratios = header.get("LossyImageCompressionRatio")
    methods = header.get("LossyImageCompressionMethod") or (LOSSY_METHODS[syntax] if lossy_syntax else None)
    if ratios:
        sc.LossyImageCompressionRatio = ratios
    if methods:
        sc.LossyImageCompressionMethod = methods


def _source_reference(source: SourceInstance) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = source.sop_class_uid
    item.ReferencedSOPInstanceUID = source.sop_instance_uid
    if source.frame_number:
        item.ReferencedFrameNumber = source.frame_number
    return item


def _copy_body_part(sc, header: Dataset) -> None:
    """Body Part Examined and Laterality (type 2C: present, maybe empty, unless the body part is
    known and the source has no laterality, i.e. an unpaired part)."""
    if header.get("BodyPartExamined"):
        sc.BodyPartExamined = header.BodyPartExamined
    if "Laterality" in header or not header.get("BodyPartExamined"):
        sc.Laterality = header.get("Laterality") or ""


def build_sc(source: SourceInstance, result, predictor, instance_number: int = 1,
             method: str | None = None) -> hd.sc.SCImage:
    """The secondary capture of one model's result on ``source`` with its ``method`` heat-map
    (None: the family's default; see the module docstring)."""
    heatmap, method = heatmap_for(predictor, source, result, method)
    pixels = render(source.image.array, heatmap, banner_lines(result, predictor.card, method))
    series_uid, instance_uid = sc_uids(source, predictor.card, method)
    sc = hd.sc.SCImage.from_ref_dataset(
        identity_free(source.header), pixels, "RGB", 8, "PATIENT", series_uid, SC_SERIES_NUMBER,
        instance_uid, instance_number, MANUFACTURER, patient_orientation=("L", "P"),
        contributing_equipment=[processing_equipment()])
    copy_identity(sc, source.header)
    # the frame's own orientation holds (rows and columns keep their direction); empty if unknown
    sc.PatientOrientation = source.header.get("PatientOrientation") or ""
    _copy_body_part(sc, source.header)
    sc.ConversionType = "WSD"  # made on a workstation
    sc.BurnedInAnnotation = "YES"
    sc.SeriesDescription = SC_SERIES_DESCRIPTION
    sc.ManufacturerModelName = MODEL_NAME
    sc.DerivationDescription = f"{' '.join(banner_lines(result, predictor.card, method)[1:])}"[:1024]
    reference = _source_reference(source)
    reference.PurposeOfReferenceCodeSequence = [hd.sr.CodedConcept.from_code(
        codes.DCM.SourceImageForImageProcessingOperation)]
    sc.SourceImageSequence = [reference]
    sc.ReferencedImageSequence = [_source_reference(source)]
    copy_lossy_compression(sc, source.header)
    return sc
