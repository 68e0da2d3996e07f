"""Colours, palette and style sheet of every window, light and dark, from one place.

``apply_theme("light" | "dark" | "system")`` sets the application's palette and style sheet (so every
open window repaints at once) and tells the widgets that paint with their own colours (pyqtgraph
plots, probability bars, table colours) through ``theme_notifier().changed``. Widgets that paint
read ``colours()`` at paint time. The image area stays dark in both themes (a diagnostic viewer);
the PDF report is always light (it is printed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QT_TRANSLATE_NOOP, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from .focus_ring import show_focus_rings

NOTICE_TEXT = QT_TRANSLATE_NOOP("Style", "Decision support only — not for diagnostic use.")
DEMO_TEXT = QT_TRANSLATE_NOOP("Style", "DEMO — not trained for diagnosis")
OOD_HEADLINE = QT_TRANSLATE_NOOP("Style", "Out of scope")  # short: the headline is one line in a narrow column
OOD_TEXT = QT_TRANSLATE_NOOP("Style", "OOD score {score:.2f} (limit 1)")
OOD_ADVICE = (QT_TRANSLATE_NOOP("Style", "No decision: the image is unlike the training data, so the probabilities above are not "
              "trustworthy. Check that it is the right kind of image for this task (modality, view, whole "
              "image), or choose another task; otherwise read it without the assistant."))

THEME_CHOICES = ("system", "light", "dark")
IMAGE_BACKGROUND = "#111315"  # the image area, both themes


@dataclass(frozen=True)
class Colours:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    border: str
    highlight: str
    highlighted_text: str
    focus: str  # the keyboard focus ring (focus_ring) and the focused cell's frame: >= 3:1 on every surface
    link: str
    bar_track: str
    bar_fill: str
    error: str
    caution: str  # flagged rows
    ok_background: str
    warn_background: str
    warn_text: str
    warn_border: str
    placeholder_text: str
    plot_background: str
    plot_foreground: str
    plot_grid_alpha: float
    curves: dict = field(default_factory=dict)  # name -> colour of the plots' curves


LIGHT = Colours(
    name="light", window="#eff1f4", base="#ffffff", alt_base="#f5f7fa", text="#1f2d3d", muted="#56606d",
    button="#e6e9ed", border="#c9ced6", highlight="#2f63b8", highlighted_text="#ffffff", focus="#1f4e9c",
    link="#1f4e9c",
    bar_track="#e3e7ec", bar_fill="#4a79c4", error="#b03a2e", caution="#8a4e00", ok_background="#e3f1e3",
    warn_background="#fff4ce", warn_text="#4d3800", warn_border="#e3c66b", placeholder_text="#8a949e",
    plot_background="#ffffff", plot_foreground="#1f2d3d", plot_grid_alpha=0.15,
    curves={"raw": "#4a79c4", "smooth": "#1f4e9c", "val_loss": "#c0392b", "best": "#888888",
            "accuracy": "#2c7fb8", "auc": "#7b3294", "sensitivity": "#d95f02", "specificity": "#1b9e77",
            "perfect": "#999999", "uncalibrated": "#d95f02", "calibrated": "#1f4e9c", "base": "#7f7f7f"})

DARK = Colours(
    name="dark", window="#1e2125", base="#16181b", alt_base="#202328", text="#e6e9ed", muted="#a7b0bb",
    button="#2b3036", border="#3d444d", highlight="#3d6db5", highlighted_text="#ffffff", focus="#a8c7fa",
    link="#8ab4f8",
    bar_track="#353b43", bar_fill="#6f9be0", error="#ff8a80", caution="#ffc266", ok_background="#1f3a24",
    warn_background="#3a3000", warn_text="#ffe08a", warn_border="#7a6520", placeholder_text="#8a949e",
    plot_background="#16181b", plot_foreground="#d5dae0", plot_grid_alpha=0.25,
    curves={"raw": "#6f9be0", "smooth": "#9cc0ff", "val_loss": "#ff8a80", "best": "#9aa3ad",
            "accuracy": "#6fb8e8", "auc": "#c59be8", "sensitivity": "#ffa15c", "specificity": "#4fd1a8",
            "perfect": "#8a949e", "uncalibrated": "#ffa15c", "calibrated": "#9cc0ff", "base": "#b0b0b0"})

THEMES = {"light": LIGHT, "dark": DARK}

_STYLE_TEMPLATE = """
QLabel#noticeBanner {{
    background: {warn_background}; color: {warn_text}; border-bottom: 1px solid {warn_border};
    padding: 6px 12px; font-weight: 600;
}}
QLabel#warning {{
    color: {warn_text}; background: {warn_background}; border: 1px solid {warn_border}; border-radius: 3px;
    padding: 4px;
}}
QLabel#changedFile {{
    color: {error}; background: {warn_background}; border: 1px solid {warn_border}; padding: 4px 8px;
    font-weight: 600;
}}
QFrame#modelColumn {{
    background: palette(base); border: 1px solid {border}; border-radius: 6px;
}}
QFrame#modelColumn[demo="true"] {{ border: 1px solid #c0392b; }}
QLabel#familyTitle {{ font-size: 12pt; font-weight: 700; }}
QLabel#modelMeta, #modelFooter, QLabel#explainCaption, #operatingMetrics {{ color: {muted}; }}
#viewerCaption, #heatLegend {{ background: {image_background}; color: #aeb6bf; padding: 2px; }}
QLabel#demoBadge {{
    background: #c0392b; color: white; border-radius: 3px; padding: 2px 6px; font-weight: 700;
}}
#headline {{ font-size: 14pt; font-weight: 700; }}
#headline[ood="true"] {{ color: {error}; }}
#probability {{ font-size: 11pt; color: {text}; }}
#decision {{ color: {text}; }}
QLabel#panelTitle {{ font-size: 13pt; font-weight: 700; }}
QLabel#panelStatus {{ color: {muted}; font-style: italic; }}
QLabel#placeholder {{ color: {placeholder_text}; font-size: 13pt; background: {image_background};
                     qproperty-alignment: AlignCenter; }}
QLabel#panelStub {{ color: {muted}; font-style: italic; qproperty-alignment: 'AlignTop | AlignLeft'; padding: 12px; }}
QLabel#jobStatus {{ color: {muted}; padding-right: 8px; }}
QAbstractItemView::item:focus {{ border: 2px solid {focus}; }}
QAbstractItemView::item:focus:selected {{
    border-color: {highlighted_text}; background: {highlight}; color: {highlighted_text};
}}
"""


def style_sheet(colours: Colours) -> str:
    """The application's style sheet in these colours."""
    values = {name: getattr(colours, name) for name in colours.__dataclass_fields__ if name != "curves"}
    return _STYLE_TEMPLATE.format(image_background=IMAGE_BACKGROUND, **values)


STYLE_SHEET = style_sheet(LIGHT)  # the light sheet, for code that predates themes


def palette(colours: Colours) -> QPalette:
    """A Fusion palette in these colours (active, inactive and disabled groups)."""
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    pal = QPalette()
    for name, value in ((role.Window, colours.window), (role.WindowText, colours.text), (role.Base, colours.base),
                        (role.AlternateBase, colours.alt_base), (role.Text, colours.text),
                        (role.Button, colours.button), (role.ButtonText, colours.text),
                        (role.ToolTipBase, colours.base), (role.ToolTipText, colours.text),
                        (role.Highlight, colours.highlight), (role.HighlightedText, colours.highlighted_text),
                        (role.Link, colours.link), (role.PlaceholderText, colours.muted),
                        (role.BrightText, colours.error), (role.Light, colours.base), (role.Midlight, colours.border),
                        (role.Mid, colours.border), (role.Dark, colours.border), (role.Shadow, "#000000")):
        pal.setColor(name, QColor(value))
    for name in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(group.Disabled, name, QColor(colours.muted))
    return pal


# ---------------------------------------------------------------------------- contrast (WCAG 2.x)
def relative_luminance(colour: str | QColor) -> float:
    c = QColor(colour)

    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(c.redF()) + 0.7152 * linear(c.greenF()) + 0.0722 * linear(c.blueF())


def contrast_ratio(foreground: str | QColor, background: str | QColor) -> float:
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# ---------------------------------------------------------------------------- the current theme
class ThemeNotifier(QObject):
    changed = Signal(object)  # the new Colours


_state: dict = {"choice": None, "colours": LIGHT, "notifier": None, "following": False, "system": None}


def theme_notifier() -> ThemeNotifier:
    if _state["notifier"] is None:
        _state["notifier"] = ThemeNotifier()
    return _state["notifier"]


def colours() -> Colours:
    """The colours of the theme on screen (light until a theme is applied)."""
    return _state["colours"]


def theme_choice() -> str | None:
    """The applied choice (system / light / dark), None before the first ``apply_theme``."""
    return _state["choice"]


def system_theme() -> str:
    """"dark" when the platform's colours are dark, else "light": the lightness of the system
    palette's window colour, read once before our own palette replaces it; later changes arrive
    through ``QStyleHints.colorSchemeChanged`` (Qt >= 6.5). Asking ``QStyleHints.colorScheme()``
    here instead cost ~50 ms before the first paint (PySide6 builds the Qt namespace's enums on
    first use): the first-window ratio went from 1.4 to 1.5-2.1 (benchmarks/ui_latency.py)."""
    if _state["system"] is None:
        app = QGuiApplication.instance()
        window = app.palette().color(QPalette.ColorRole.Window) if app is not None else None
        _state["system"] = "dark" if window is not None and window.lightness() < 128 else "light"
    return _state["system"]


def resolve(choice: str) -> Colours:
    return THEMES.get(system_theme() if choice == "system" else choice, LIGHT)


def apply_theme(choice: str) -> Colours:
    """Palette + style sheet of the whole application in this theme, every open window repainted."""
    if choice not in THEME_CHOICES:
        raise ValueError(f"theme must be one of {', '.join(THEME_CHOICES)}")
    new = resolve(choice)
    changed = new is not _state["colours"] or _state["choice"] is None
    _state["choice"], _state["colours"] = choice, new
    app = QGuiApplication.instance()
    if app is None:
        return new
    _follow_system(app)
    if changed:
        show_focus_rings(app, new.focus, new.base)
        app.setPalette(palette(new))
        app.setStyleSheet(style_sheet(new))
        theme_notifier().changed.emit(new)
        for widget in app.allWidgets():
            widget.update()
    return new


def ensure_theme(choice: str = "system") -> Colours:
    """Apply ``choice`` unless a theme is already applied (windows that can open first call it)."""
    return colours() if _state["choice"] is not None else apply_theme(choice)


def on_theme_change(slot) -> None:
    """Call ``slot(colours)`` now and at every theme change. ``slot`` is a QObject's bound method, so
    Qt disconnects it when that object is destroyed."""
    slot(colours())
    theme_notifier().changed.connect(slot)


def _follow_system(app) -> None:
    if _state["following"]:
        return
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(_system_scheme_changed)
        _state["following"] = True


def _system_scheme_changed(scheme) -> None:
    _state["system"] = "dark" if getattr(scheme, "name", "") == "Dark" else "light"
    if _state["choice"] == "system":
        apply_theme("system")
