"""Settings → Theme: System / Light / Dark, saved in the settings and applied at once to every window."""
from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtGui import QAction, QActionGroup

from .style import THEME_CHOICES, apply_theme
from .i18n import translate

THEME_TEXTS = {"system": QT_TRANSLATE_NOOP("Appearance", "&System (follow the desktop)"), "light": QT_TRANSLATE_NOOP("Appearance", "&Light"), "dark": QT_TRANSLATE_NOOP("Appearance", "&Dark")}


def set_theme(window, choice: str) -> None:
    """Save ``choice`` (system | light | dark) in the window's settings and apply it to the application
    (the menu's exclusive action group has checked the triggered action already)."""
    window.settings.theme = choice
    apply_theme(choice)


def build_theme_menu(window, menu) -> dict[str, QAction]:
    """The Theme submenu of ``menu``; returns its actions by choice (``MainActions.theme_actions``)."""
    submenu = menu.addMenu(translate("Appearance", "T&heme"))
    group = QActionGroup(window)
    actions: dict[str, QAction] = {}
    for choice in THEME_CHOICES:
        action = QAction(translate("Appearance", THEME_TEXTS[choice]), window, checkable=True)
        action.setToolTip(translate("Appearance", "Colours of every window; the printed report stays light"))
        action.triggered.connect(lambda _=False, c=choice: set_theme(window, c))
        group.addAction(action)
        submenu.addAction(action)
        actions[choice] = action
    actions[window.settings.theme].setChecked(True)
    return actions
