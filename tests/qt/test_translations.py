"""Translations (issue 20, item 2): the .ts sources are up to date with the code and the .qm files with
their .ts; zh_CN is complete; the language comes from MEDDIAG_LANGUAGE / the settings / the system; the
main, scan, fine-tune, review and inbox windows in zh_CN show no English UI word; the PDF report's text
layer holds the Chinese; the bundled CJK font covers every translated character; --self-test passes in zh_CN."""
from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt import i18n

from i18nkit import english_left, english_words, language

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "i18n" / "meddiag_zh_CN.ts"
CHEST = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
WAIT = 60_000
sys.path.insert(0, str(ROOT / "scripts"))


def _entries(ts: Path) -> set[tuple[str, str]]:
    root = ET.parse(ts).getroot()
    return {(ctx.findtext("name"), msg.findtext("source")) for ctx in root.iter("context") for msg in ctx.iter("message")}


# ----------------------------------------------------------------------------- files
def test_the_ts_is_up_to_date_with_the_code(tmp_path):
    import update_translations

    fresh = tmp_path / TS.name
    shutil.copy(TS, fresh)
    update_translations.lupdate(fresh)  # what scripts/update_translations.py would write
    assert _entries(fresh) == _entries(TS), (
        "resources/i18n/meddiag_zh_CN.ts is out of date: run scripts/update_translations.py and translate\n"
        f"new: {sorted(_entries(fresh) - _entries(TS))[:10]}\ngone: {sorted(_entries(TS) - _entries(fresh))[:10]}")


def test_the_qm_is_compiled_from_its_ts(tmp_path):
    import update_translations

    update_translations.lrelease(TS, tmp_path / "fresh.qm")
    assert (tmp_path / "fresh.qm").read_bytes() == TS.with_suffix(".qm").read_bytes(), (
        "resources/i18n/meddiag_zh_CN.qm is stale: run scripts/update_translations.py")


def test_zh_cn_is_complete_and_keeps_every_placeholder():
    import re

    root = ET.parse(TS).getroot()
    assert root.get("language") == "zh_CN"
    messages = list(root.iter("message"))
    assert len(messages) > 500
    for message in messages:
        source, translation = message.findtext("source"), message.find("translation")
        assert translation.get("type") not in ("unfinished", "obsolete", "vanished"), source
        assert translation.text and translation.text.strip(), source
        assert sorted(re.findall(r"\{[^}]*\}", source)) == sorted(re.findall(r"\{[^}]*\}", translation.text)), source
    terms = {t.findtext("source"): t.findtext("translation") for t in messages}
    assert terms["pneumonia"] == "肺炎" and terms["malignant"] == "恶性" and terms["benign"] == "良性"
    assert terms["Sensitivity"] == "灵敏度" and terms["Specificity"] == "特异度" and terms["Heat-map"] == "热力图"


def test_the_bundled_cjk_font_covers_every_translated_character(qapp):
    from PySide6.QtGui import QRawFont

    font = QRawFont(str(resource_path("fonts", i18n.CJK_FONT_FILE)), 12)
    assert font.isValid()
    text = "".join(t.text or "" for t in ET.parse(TS).getroot().iter("translation"))
    missing = sorted({c for c in text if ord(c) > 0x2E7F and not font.supportsCharacter(ord(c))})
    assert not missing, f"run scripts/update_translations.py: the font subset lacks {''.join(missing[:20])}"
    assert i18n.load_bundled_cjk_font()  # loads and registers as the Han fallback


def test_the_bundle_ships_the_translations_and_the_font():
    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert "resources" in spec and "i18n" in spec and "fonts" in spec


# ----------------------------------------------------------------------------- choosing the language
def test_the_language_comes_from_the_environment_the_settings_or_the_system(monkeypatch, tmp_path, qapp):
    from meddiag_desktop.qt.settings import Settings

    assert [i18n.normalize(c) for c in ("zh", "zh-CN", "zh_CN.UTF-8", "zh_Hans_CN", "en_GB", "C", "zh_TW", "fr",
                                        "system", "")] == ["zh_CN", "zh_CN", "zh_CN", "zh_CN", "en", "en", None, None,
                                                           None, None]
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    assert i18n.resolve_language("zh_CN") == "zh_CN" and i18n.resolve_language("en") == "en"
    assert i18n.resolve_language("system") == i18n.system_language()
    monkeypatch.setenv(i18n.ENV_VAR, "zh_CN")
    assert i18n.resolve_language("en") == "zh_CN"  # kiosks, tests: the variable wins
    monkeypatch.setenv(i18n.ENV_VAR, "klingon")
    assert i18n.resolve_language("zh_CN") == "zh_CN"  # an unknown value is ignored
    settings = Settings(tmp_path / "s.ini")
    assert settings.language == "system"
    settings.language = "zh_CN"
    settings.sync()
    assert Settings(tmp_path / "s.ini").language == "zh_CN"
    assert "zh_CN" in (tmp_path / "s.ini").read_text(encoding="utf-8")  # only the code is stored
    with pytest.raises(ValueError):
        settings.language = "Chinese"


def test_settings_language_menu_saves_the_choice_for_the_next_start(window):
    actions = window.menu_actions.language_actions
    assert set(actions) == {"system", "en", "zh_CN"} and actions["system"].isChecked()
    assert actions["zh_CN"].text() == "简体中文" and "next start" in actions["en"].toolTip()
    actions["zh_CN"].trigger()
    assert window.settings.language == "zh_CN" and i18n.current_language() == "en"  # applies at the next start


def test_numbers_follow_the_locale(qapp):
    from meddiag_desktop.qt.core_text import core_text, percent, result_summary
    from meddiag_desktop.core.inference import Result

    with language("zh_CN"):
        assert percent(0.734) == "73.4 %" and percent(0.999) == "> 99 %" and percent(0.001) == "< 1 %"
        assert core_text("Loading demo-cnn…") == "正在加载 demo-cnn…"
        assert core_text("pneumonia (P(pneumonia) = 0.710 ≥ operating point 0.620)") == \
            "肺炎（P(肺炎) = 0.710 ≥ 工作点 0.620）"
        result = Result(path="x.png", model="m", status="ok", label="pneumonia", probability=0.972)
        assert result_summary(result) == "肺炎 97.2 %"
    from PySide6.QtCore import QLocale

    with language("zh_CN"):
        assert QLocale().name() == "zh_CN"


# ----------------------------------------------------------------------------- no English left
def _assert_chinese(widget, data=()):
    left = english_left(widget, data=("demo", *data))
    assert not left, "English UI text in zh_CN:\n" + "\n".join(f"{w}: {t!r} {words}" for w, t, words in left[:25])


def _model_ids(window) -> tuple[str, ...]:
    return tuple(c.id for c in window.info.cards)


@pytest.fixture
def zh_window(make_window, qtbot):
    with language("zh_CN"):
        window = make_window()
        qtbot.waitUntil(lambda: window.info is not None and window.viewer is not None, timeout=WAIT)
        yield window


def test_english_words_are_found():
    assert english_words("Loading models… 正在") == ["Loading", "models"]
    assert english_words("demo-cnn · v1 · 97.2 % · chest_01.png · DICOM", data=("demo-cnn",)) == []


def test_main_window_with_a_result_and_heat_map_in_chinese(zh_window, qtbot):
    window = zh_window
    window.open_files([CHEST])
    qtbot.waitUntil(lambda: window.predictions_complete(CHEST), timeout=WAIT)
    window.set_overlay_enabled(True)
    qtbot.waitUntil(lambda: "热力图" in window.panel.explain_caption.text() or "的" in
                    window.panel.explain_caption.text(), timeout=WAIT)
    assert window.menus["&File"].title() == "文件(&F)"
    _assert_chinese(window, _model_ids(window) + ("chest_xray_pneumonia_val0",))


def test_scan_window_after_a_scan_in_chinese(zh_window, qtbot, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(folder / f"s{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n")
    scan = zh_window.open_scan_window()
    qtbot.waitUntil(lambda: scan.info is not None, timeout=WAIT)
    with qtbot.waitSignal(scan.scanFinished, timeout=WAIT):
        scan.start_scan([str(folder)])
    _assert_chinese(scan, _model_ids(zh_window))


def test_fine_tune_dialog_in_chinese(zh_window, qtbot):
    dialog = zh_window.child_windows.open_finetune("cpu")
    qtbot.waitUntil(lambda: dialog.setup.base_combo.count() > 1, timeout=WAIT)
    _assert_chinese(dialog, _model_ids(zh_window) + ("pneumonia", "breast", "custom"))  # task ids: editable data


def test_review_window_in_chinese(zh_window, qtbot, tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    queue = tmp_path / "queue.csv"
    with open(queue, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "path", "reason", "score", "demo-cnn:p_abnormal", "refused_by", "sha256"])
        for i in range(4):
            Image.fromarray(np.full((28, 28), 50 * i, np.uint8)).save(folder / f"img{i}.png")
            sha = hashlib.sha256((folder / f"img{i}.png").read_bytes()).hexdigest()
            writer.writerow([i + 1, f"clinic/img{i}.png", "uncertain", "0.5", "0.5", "", sha])
    review = zh_window.child_windows.open_review("cpu")
    with qtbot.waitSignal(review.queueReady, timeout=WAIT):
        review.open_queue_csv(queue)
    qtbot.waitUntil(lambda: "加载" not in review.item_label.text(), timeout=WAIT)
    qtbot.wait(1000)
    _assert_chinese(review, _model_ids(zh_window) + ("queue", "clinic"))


def test_inbox_and_node_dialog_in_chinese(zh_window, qtbot):
    intake = zh_window.child_windows.open_intake()
    dialog = intake.show_dialog()
    try:
        _assert_chinese(intake.dock, _model_ids(zh_window))
        _assert_chinese(dialog, ("MEDDIAG",))
    finally:
        dialog.close()


# ----------------------------------------------------------------------------- PDF and self-test
def test_the_pdf_report_in_chinese_has_a_chinese_text_layer(zh_window, qtbot, tmp_path):
    import pypdf

    from meddiag_desktop.qt.report import export_report

    zh_window.open_files([CHEST])
    qtbot.waitUntil(lambda: zh_window.predictions_complete(CHEST), timeout=WAIT)
    out = tmp_path / "报告.pdf"
    with qtbot.waitSignal(zh_window.reportExported, timeout=WAIT):
        export_report(zh_window, str(out))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(out.read_bytes())).pages)
    flat = "".join(text.split())
    for phrase in ("病例报告", "仅供辅助决策", "模型预测", "工作点处的判定", "分布外检测", "具备资质的临床医生确认"):
        assert phrase in flat, (phrase, text[:500])


def test_self_test_passes_in_chinese(qapp, tmp_path, monkeypatch):
    from meddiag_desktop.qt.self_test import run_self_test
    from testkit import save_demo_models

    save_demo_models(tmp_path, "pneumonia", ("normal", "pneumonia"), threshold=0.62, positive_label="pneumonia")
    monkeypatch.setenv(i18n.ENV_VAR, "zh_CN")
    lines: list[str] = []
    try:
        assert run_self_test(weights_dir=tmp_path, device="cpu", out=lines.append) == 0, "\n".join(lines)
        assert "language: zh_CN" in lines and i18n.current_language() == "zh_CN"
    finally:
        i18n.install("en")


def test_meddiag_desktop_self_test_in_chinese_as_a_process(tmp_path):
    """``MEDDIAG_LANGUAGE=zh_CN meddiag-desktop --self-test`` with the shipped weights (skipped without them)."""
    from meddiag_desktop.qt.self_test import shipped_models_missing

    weights = ROOT / "weights"
    if shipped_models_missing(weights, "pneumonia"):
        pytest.skip("shipped weights not present")
    env = {**__import__("os").environ, "MEDDIAG_LANGUAGE": "zh_CN", "QT_QPA_PLATFORM": "offscreen",
           "MEDDIAG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "meddiag_desktop", "--self-test", "--device", "cpu"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "language: zh_CN" in done.stdout and "SELF-TEST PASSED" in done.stdout
