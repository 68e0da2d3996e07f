"""High-DPI: the real window at 100, 150 and 200 % display scale, each in its own process
(``hidpi_probe.py``) under QT_SCALE_FACTOR on an offscreen screen of 1366 x 768 logical pixels (a common
laptop at 150 % is smaller still; the windows must fit this one).

At every scale: the image view renders at device resolution (a grab has the scale's pixel ratio and
hard edges, no upscaled half-tones); the heat-map lies on the image's pixels to the device pixel; no
painted text of the predictions panel is cut off (also the long advice under a refused image); the
probability bars are painted to their values; the heat-map legend's bar and labels are painted at device
resolution; the fine-tune curves' pixmap-cached axes, legend and
title match an uncached paint; list icons come from sources of at least device size;
every window opens inside the screen and its minimum size fits it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("hidpi_probe.py")
ROOT = PROBE.parents[2]
SCREEN = (1366, 768)  # logical pixels


def run_probe(scale: float, tmp_path: Path) -> dict:
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "hidpi", "x": 0, "y": 0, "width": round(SCREEN[0] * scale), "height": round(SCREEN[1] * scale),
        "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    out = tmp_path / "figures.json"
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", QT_SCALE_FACTOR=str(scale),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    for name in ("QT_SCREEN_SCALE_FACTORS", "QT_AUTO_SCREEN_SCALE_FACTOR", "QT_ENABLE_HIGHDPI_SCALING"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, str(PROBE), str(out)], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module", params=[1.0, 1.5, 2.0], ids=["100%", "150%", "200%"])
def figures(request, tmp_path_factory):
    return request.param, run_probe(request.param, tmp_path_factory.mktemp("hidpi"))


def test_the_screen_is_the_scaled_1366x768_one(figures):
    scale, f = figures
    assert f["dpr"] == pytest.approx(scale)
    assert f["screen"] == [0, 0, *SCREEN]


def test_the_image_view_renders_at_device_resolution_with_hard_edges(figures):
    scale, f = figures
    view = f["image_view"]
    assert view["viewport_dpr"] == pytest.approx(scale) and view["grab_dpr"] == pytest.approx(scale)
    for logical, device in zip(view["logical_size"], view["grab_size"]):
        assert abs(device - logical * scale) <= 1
    top, left, bottom, right = view["square_px"]
    side = right - left + 1  # 16 image pixels of a 64-pixel image shown about 8x
    assert side >= 16 * 4 * scale and abs((bottom - top) - (right - left)) <= 1
    assert view["edge_grey_px"] <= 2  # nearest-neighbour at device resolution: no blurred ramp at the edges


def test_the_heat_map_lies_on_the_image_pixels(figures):
    _scale, f = figures
    heat, square = f["image_view"]["heat_px"], f["image_view"]["square_px"]
    assert heat and all(abs(a - b) <= 1 for a, b in zip(heat, square)), (heat, square)


def test_the_heat_map_legend_is_painted_at_device_resolution(figures):
    scale, f = figures
    legend = f["image_view"]["legend"]
    assert legend["visible"] and legend["grab_dpr"] == pytest.approx(scale)
    for logical, device in zip(legend["logical_size"], legend["grab_size"]):
        assert abs(device - logical * scale) <= 1
    assert legend["bar_diff"] <= 2  # one lookup-table column per device pixel, not a 1x bar scaled up
    assert legend["label_height"] <= legend["logical_size"][1] and legend["labels_fit"]  # "low" / "high" fit the row


@pytest.mark.parametrize("key", ["texts", "refused_texts"])
def test_no_painted_text_is_cut_off(figures, key):
    _scale, f = figures
    texts = f[key]
    assert len(texts) >= 9  # three models: headline, probability, bars' values, decision, ...
    for t in texts:
        width, height = t["box"]
        if t["wrap"]:
            assert t["wrapped_height"] <= height, t
        else:
            assert t["widest"] <= width and t["lines_height"] <= height, t


def test_probability_bars_are_painted_to_their_values(figures):
    scale, f = figures
    assert len(f["bars"]) >= 6
    for bar in f["bars"]:
        width, height = bar["size"]
        assert abs(bar["device_height"] - height * scale) <= 1
        floor = height / width  # a rounded bar is never narrower than it is high
        assert bar["filled"] == pytest.approx(max(bar["value"], floor), abs=2 / width + 0.01), bar


def test_cached_plot_parts_are_painted_at_device_resolution(figures):
    scale, f = figures
    assert f["curves"]["grab_dpr"] == pytest.approx(scale)
    assert f["curves"]["cache_diff_px"] == 0  # axes, legend, title: the same pixels without the pixmap cache


def test_icons_have_sources_of_at_least_device_size(figures):
    scale, f = figures
    icons = f["icons"]
    assert icons["list_icon_sources"] and min(icons["list_icon_sources"]) >= icons["list_icon_px"] * scale
    assert max(icons["window_icon_sources"]) >= 256


def test_every_window_opens_inside_the_screen_and_its_minimum_fits(figures):
    _scale, f = figures
    width, height = SCREEN
    assert set(f["windows"]) == {"main", "scan", "fine_tune", "review", "models"}
    for name, w in f["windows"].items():
        x, y, frame_w, frame_h = w["frame"]
        assert x >= 0 and y >= 0 and x + frame_w <= width and y + frame_h <= height, (name, w)
        assert w["minimum"][0] <= width and w["minimum"][1] <= height, (name, w)
