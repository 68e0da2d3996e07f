"""Settings → Language: System default / English / 简体中文, saved as a code; applies at the next start."""
from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup

from .i18n import CHOICES, ENV_VAR, NATIVE_NAMES, translate


def set_language(window, choice: str) -> None:
    """Save ``choice`` (system | en | zh_CN); the window says it applies at the next start."""
    window.settings.language = choice
    window.settings.sync()
    window.statusBar().showMessage(translate("LanguageMenu", "The language changes at the next start"), 6000)


def build_language_menu(window, menu) -> dict[str, QAction]:
    """The Language submenu of ``menu``; returns its actions by choice."""
    submenu = menu.addMenu(translate("LanguageMenu", "&Language (at next start)"))
    group = QActionGroup(window)
    actions: dict[str, QAction] = {}
    tip = translate("LanguageMenu", "Language of the window; it changes at the next start. The {0} environment "
                    "variable (e.g. zh_CN, en) overrides this choice.").format(ENV_VAR)
    for choice in CHOICES:
        text = translate("LanguageMenu", "&System default") if choice == "system" else NATIVE_NAMES[choice]
        action = QAction(text, window, checkable=True)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, c=choice: set_language(window, c))
        group.addAction(action)
        submenu.addAction(action)
        actions[choice] = action
    actions[window.settings.language].setChecked(True)
    return actions
