"""Light and dark themes: chosen at run time, every open window repainted, readable contrast."""
from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from meddiag_desktop.qt import style
from meddiag_desktop.qt.style import DARK, LIGHT, apply_theme, contrast_ratio, palette

WAIT = 60_000


@pytest.fixture
def light_after():
    yield
    apply_theme("light")


@pytest.mark.parametrize("colours", [LIGHT, DARK], ids=["light", "dark"])
def test_main_text_contrast_is_at_least_4_5(colours, qapp):
    role = QPalette.ColorRole
    pal = palette(colours)
    pairs = [(role.WindowText, role.Window), (role.Text, role.Base), (role.Text, role.AlternateBase),
             (role.ButtonText, role.Button), (role.HighlightedText, role.Highlight), (role.ToolTipText, role.ToolTipBase),
             (role.PlaceholderText, role.Base), (role.Link, role.Base)]
    for fg, bg in pairs:
        assert contrast_ratio(pal.color(fg), pal.color(bg)) >= 4.5, (colours.name, fg, bg)
    for fg, bg in [(colours.muted, colours.base), (colours.muted, colours.window), (colours.error, colours.base),
                   (colours.caution, colours.base), (colours.warn_text, colours.warn_background),
                   (colours.plot_foreground, colours.plot_background), (colours.placeholder_text, style.IMAGE_BACKGROUND),
                   (colours.error, colours.warn_background)]:
        assert contrast_ratio(fg, bg) >= 4.5, (colours.name, fg, bg)


@pytest.mark.parametrize("colours", [LIGHT, DARK], ids=["light", "dark"])
def test_the_focus_colour_stands_out_on_every_surface(colours):
    """The focus ring (focus colour between base-coloured lines) and the focused cell's frame: >= 3:1."""
    for surface in (colours.window, colours.base, colours.alt_base, colours.button, colours.border):
        assert contrast_ratio(colours.focus, surface) >= 3.0, (colours.name, surface)
    assert max(contrast_ratio(colours.focus, style.IMAGE_BACKGROUND),
               contrast_ratio(colours.base, style.IMAGE_BACKGROUND)) >= 3.0  # the image view, dark in both
    assert contrast_ratio(colours.focus, colours.base) >= 3.0  # the ring against its own lines
    assert contrast_ratio(colours.highlighted_text, colours.highlight) >= 3.0  # a focused, selected cell


def test_contrast_ratio_matches_wcag_examples():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_switching_the_theme_repaints_every_window_without_restart(window, qtbot, light_after):
    from meddiag_desktop.qt.painted_text import ProbabilityBar

    scan = window.open_scan_window()
    dialog = window.open_finetune()
    windows = [window, scan, dialog]
    for w in windows:
        qtbot.waitExposed(w)
    assert window.menu_actions.theme_actions["system"].isChecked()

    def background(w):
        return w.grab().toImage().pixelColor(w.width() - 3, w.height() - 3).name()

    before = [background(w) for w in windows]
    window.menu_actions.theme_actions["dark"].trigger()
    assert window.settings.theme == "dark" and style.colours() is DARK
    for w, old in zip(windows, before):
        assert w.palette().color(QPalette.ColorRole.Window).name() == DARK.window
        assert background(w) != old  # repainted in the new colours
    assert dialog.training.curves.loss_plot.backgroundBrush().color().name() == DARK.plot_background
    bar = window.panel.findChild(ProbabilityBar)
    image = bar.grab().toImage()
    assert image.pixelColor(image.width() - 2, image.height() // 2).name() == DARK.bar_track
    window.menu_actions.theme_actions["light"].trigger()
    assert [background(w) for w in windows] == before
