"""The window's language: Qt translators (``resources/i18n/meddiag_<code>.qm``, made by
``scripts/update_translations.py``), the matching QLocale for numbers and dates, and a CJK font.

Choice, first that applies: ``MEDDIAG_LANGUAGE`` (kiosks, tests), Settings → Language, the system
locale. It applies at the next start (``install`` runs once, before the first window). The CLI and
core stay English; texts that reach the window from core are translated by ``qt.core_text``.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from meddiag_desktop.core.paths import resource_path  # platformdirs only

log = logging.getLogger(__name__)

ENV_VAR = "MEDDIAG_LANGUAGE"
LANGUAGES = ("en", "zh_CN")  # shipped; "system" in the settings means: the system locale's
CHOICES = ("system", *LANGUAGES)
NATIVE_NAMES = {"en": "English", "zh_CN": "简体中文"}  # each in its own language, never translated
CJK_FONT_FILE = "MedDiagSansSC-subset.ttf"  # resources/fonts: Droid Sans Fallback (Apache-2.0) subset

_installed: list[QTranslator] = []
_language = "en"


def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """``QCoreApplication.translate`` (lupdate finds ``translate("Context", "text")`` calls)."""
    return QCoreApplication.translate(context, text, disambiguation, n)


def normalize(code: str | None) -> str | None:
    """A shipped language for a locale or language code ("zh", "zh-CN", "zh_Hans_CN", "en_US", "C"), or
    None when none fits (a language not shipped, "system", empty)."""
    code = (code or "").strip().replace("-", "_").split(".")[0]
    if not code or code.lower() == "system":
        return None
    if code in ("C", "POSIX"):
        return "en"
    lang = code.split("_")[0].lower()
    if lang == "zh":  # Simplified Chinese only: Taiwan / Hong Kong / Hant would want Traditional
        parts = {p.upper() for p in code.split("_")[1:]}
        return None if parts & {"TW", "HK", "MO", "HANT"} else "zh_CN"
    return "en" if lang == "en" else None


def system_language() -> str:
    locale = QLocale.system()
    if locale.language() == QLocale.Language.Chinese and locale.script() != QLocale.Script.TraditionalChineseScript:
        return "zh_CN" if locale.territory() not in (QLocale.Country.Taiwan, QLocale.Country.HongKong,
                                                      QLocale.Country.Macao) else "en"
    return "en"


def resolve_language(saved: str | None = "system") -> str:
    """The language to start in: ``MEDDIAG_LANGUAGE``, else the saved choice, else the system's."""
    env = os.environ.get(ENV_VAR, "")
    if env and normalize(env) is None and env.strip().lower() != "system":
        log.warning("%s=%s is not a shipped language (%s): ignored", ENV_VAR, env, ", ".join(LANGUAGES))
    return normalize(env) or normalize(saved) or system_language()


def qm_path(code: str):
    return resource_path("i18n", f"meddiag_{code}.qm")


def install(code: str, app: QCoreApplication | None = None) -> str:
    """Load ``code``'s translators into the application (replacing earlier ones) and make its QLocale
    the default for numbers and dates; returns the language now in use ("en" when a file is missing)."""
    global _language
    app = app or QCoreApplication.instance()
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    code = normalize(code) or "en"
    if code != "en":
        ours = QTranslator(app)
        if not ours.load(str(qm_path(code))):
            log.warning("no translation file for %s: the window stays in English", code)
            code = "en"
        else:
            _installed.append(ours)
            qt_own = QTranslator(app)  # Qt's standard buttons and dialogs (OK, Cancel, file dialogs)
            if qt_own.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
                _installed.append(qt_own)
            for translator in _installed:
                app.installTranslator(translator)
    QLocale.setDefault(_number_locale(code))
    _language = code
    if code == "zh_CN":
        ensure_cjk_font()
    return code


def _number_locale(code: str) -> QLocale:
    """Numbers and dates: zh_CN's; in English the system's own locale when it is an English one (or C)."""
    system = QLocale.system()
    if code == "en":
        return system if system.language() in (QLocale.Language.English, QLocale.Language.C) else QLocale("en_US")
    return QLocale(code)


def current_language() -> str:
    return _language


def ensure_cjk_font() -> str | None:
    """A font with Simplified Chinese glyphs: the system's when it has one, else the subset the project
    ships (registered as the fallback for Han script). Returns the family used, None when none."""
    from PySide6.QtGui import QFontDatabase

    families = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    if families:
        return families[0]
    return load_bundled_cjk_font()


def load_bundled_cjk_font() -> str | None:
    """Register the shipped subset and make it the substitute of the usual UI families for the glyphs they lack."""
    from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

    font_id = QFontDatabase.addApplicationFont(str(resource_path("fonts", CJK_FONT_FILE)))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        log.warning("no CJK font found and the bundled one did not load: Chinese may show as boxes")
        return None
    for base in {QGuiApplication.font().family(), "Sans Serif", "sans-serif", "Helvetica", "Arial", "DejaVu Sans"}:
        QFont.insertSubstitution(base, families[0])
    return families[0]
