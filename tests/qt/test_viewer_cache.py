"""The main window's Qt-free cache: predictions stored as typed records, completeness, the file-list
summary, forgetting a file and the prefetch queue (plain Python, no window needed)."""
from __future__ import annotations

from types import SimpleNamespace

from meddiag_desktop.qt.jobs.viewer import Prediction, PredictionFailed
from meddiag_desktop.qt.viewer_cache import LRUCache, PredictionFailure, ViewerCache

MODELS = ["m-cnn", "m-rnn"]
CARDS = [SimpleNamespace(id="m-cnn", config=SimpleNamespace(arch="cnn")),
         SimpleNamespace(id="m-rnn", config=SimpleNamespace(arch="rnn"))]


def a_result():
    """A real core Result, as the models lane yields it."""
    from meddiag_desktop.core.inference import Result

    return Result("a.png", "m-cnn", "ok", label="abnormal", probability=0.91,
                  probabilities={"abnormal": 0.91, "normal": 0.09}, ood_score=0.5, in_distribution=True)


def test_predictions_and_failures_are_typed_records():
    cache = ViewerCache()
    result = a_result()
    cache.record(Prediction("a.png", "m-cnn", result, "cpu"))
    assert cache.missing("a.png", MODELS) == ["m-rnn"] and not cache.complete("a.png", MODELS)
    assert cache.has_prediction("a.png", MODELS)
    cache.record(PredictionFailed("a.png", "m-rnn", "out of memory"))
    assert cache.complete("a.png", MODELS) and cache.results[("a.png", "m-cnn")] is result
    assert cache.results[("a.png", "m-rnn")] == PredictionFailure("out of memory")
    assert cache.summary("a.png", CARDS) == "CNN: abnormal 91.0 %\nRNN: Failed: out of memory"
    assert not cache.complete("a.png", [])  # no models: nothing is complete


def test_an_unreadable_file_is_an_image_error_not_a_result():
    cache = ViewerCache()
    cache.record(PredictionFailed("b.dcm", None, "not an image"))
    assert cache.image_errors == {"b.dcm": "not an image"} and cache.results == {}
    assert not cache.has_prediction("b.dcm", MODELS)
    cache.record(PredictionFailed("c.png", "m-cnn", "boom"))
    assert not cache.has_prediction("c.png", MODELS)  # a failure is not a prediction


def test_forget_drops_everything_about_a_file():
    cache = ViewerCache()
    cache.record(Prediction("a.png", "m-cnn", a_result(), "cpu"))
    cache.record(Prediction("b.png", "m-cnn", a_result(), "cpu"))
    cache.heatmaps.put(("a.png", "m-cnn", "gradcam"), SimpleNamespace(heatmap=SimpleNamespace(nbytes=1), overlay=None))
    cache.image_errors["a.png"] = "x"
    cache.forget("a.png")
    assert list(cache.results) == [("b.png", "m-cnn")] and not cache.heatmaps and not cache.image_errors


def test_prefetch_skips_the_current_file_done_files_unreadable_files_and_busy_ones():
    cache = ViewerCache()
    cache.record(Prediction("done.png", "m-cnn", a_result(), "cpu"))
    cache.record(Prediction("done.png", "m-rnn", a_result(), "cpu"))
    cache.image_errors["bad.png"] = "unreadable"
    cache.record(Prediction("half.png", "m-cnn", a_result(), "cpu"))
    cache.queue_prefetch(["shown.png", "done.png", "bad.png", "busy.png", "half.png", "new.png"], current="shown.png")
    busy = {"busy.png"}.__contains__
    assert cache.next_prefetch(MODELS, busy) == ("half.png", ["m-rnn"])
    assert cache.next_prefetch(MODELS, busy) == ("new.png", MODELS)
    assert cache.next_prefetch(MODELS, busy) is None and cache.prefetch_queue == []


def test_image_cache_is_bounded_by_bytes():
    cache = LRUCache(10, 250, lambda v: v.size)
    for key in "abcd":
        cache.put(key, SimpleNamespace(size=100), keep="a")
    assert list(cache) == ["a", "d"]  # "a" is the image on screen: never evicted
