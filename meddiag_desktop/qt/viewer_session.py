"""What the main window shows, at work: the current file's image (read in the "io" lane), the task's
models (loaded in the "models" lane), their predictions (the file on screen first, the other listed
files in the background) and heat-maps (models lane, by priority). Everything read or computed
goes into the ``ViewerCache``, so switching back to a file is instant.

It owns no widget: the window hands it the image area, the predictions panel, the file list and
the status bar it updates, and its ``JobHost`` (one per window) that runs the jobs and routes their
errors (an unreadable file comes back through :meth:`ViewerSession.image_failed`). GUI thread only.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QStatusBar

from .i18n import translate
from .core_text import core_text, family_name, heatmap_caption, method_name
from .file_list import FileList
from .guard import gui_only
from .image_area import EMPTY_TEXT, ImageArea, file_name
from .job_host import JobHost
from .jobs import viewer as jobs
from .predictions import PredictionsPanel
from .viewer_cache import PredictionFailure, ViewerCache
from .workers import Job, JobError, freeze_long_lived_objects

PRIORITY = {"session": 100, "predict": 50, "explain": 40, "prefetch": 0}
PREFETCH_AHEAD = 2  # queued + running background predictions


class ViewerSession(QObject):
    sessionLoaded = Signal(object)  # jobs.viewer.SessionInfo
    predictionsUpdated = Signal(str)  # path whose results changed
    overlayUpdated = Signal()  # a heat-map was put on the image
    progressed = Signal(object)  # workers.Progress of the session and heat-map jobs
    errorOccurred = Signal(str, str, str)  # title, message, details: the file on screen cannot be read

    def __init__(self, store, host: JobHost, cache: ViewerCache, image_area: ImageArea, panel: PredictionsPanel,
                 file_list: FileList, status_bar: QStatusBar, parent: QObject | None = None) -> None:
        """``store``: a core ModelStore or a list of model folders (default: shipped + user models)."""
        super().__init__(parent)
        self.model_session = jobs.ModelSession(store)  # used only by jobs on the models lane
        self.host, self.cache, self.image_area, self.panel = host, cache, image_area, panel
        self.file_list, self.status_bar = file_list, status_bar
        self.lane = host.lanes["models"]
        self.info: jobs.SessionInfo | None = None
        self.current: str | None = None  # the file on screen

    # ------------------------------------------------------------------ the file on screen
    @gui_only
    def show_file(self, path: str | None) -> None:
        """Show ``path`` (None: nothing): its image, predictions and heat-map, from the cache or computed."""
        self.current = path or None
        for job in self.lane.jobs("explain") + self.host.lanes["io"].jobs("load"):
            if job.key[1] != path:
                job.cancel()
        if not path:
            self.image_area.show_text(translate("ImageArea", EMPTY_TEXT))
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
        elif path in self.cache.image_errors:
            self.image_area.show_text(self.tr("Cannot open {file_name}:\n{image_errors}").format(file_name=file_name(path), image_errors=self.cache.image_errors[path]))
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
        elif path in self.cache.images:
            self.cache.images.move_to_end(path)
            self._display(path, self.cache.images[path])
        else:
            # The previous image and its results stay until this one is read (usually a few ms): no
            # flash, and no costly swap of the image view for the placeholder.
            self.image_area.show_loading(self.tr("Loading {file_name}…").format(file_name=file_name(path)))
            self.status_bar.showMessage(self.tr("Loading {file_name}…").format(file_name=file_name(path)), 2000)
            if self.host.in_flight(("load", path)) is None:
                job = Job(jobs.open_image, path, name="open image", tag="load", key=("load", path))
                job.returned.connect(lambda loaded, p=path: self._on_image_loaded(p, loaded))
                self.host.submit("io", job, 0)

    def forget(self, path: str) -> None:
        """``path`` left the list: its jobs are cancelled, what is known about it dropped."""
        for job in self.host.jobs_in_flight():
            if len(job.key) > 1 and job.key[1] == path:
                job.cancel()
        self.cache.forget(path)

    @gui_only
    def _on_image_loaded(self, path: str, loaded) -> None:
        self.cache.images.put(path, loaded, keep=self.current)
        if path == self.current:
            self._display(path, loaded)

    @gui_only
    def image_failed(self, path: str, error: JobError) -> None:
        """The "open image" job of ``path`` failed."""
        self.cache.image_errors[path] = error.message
        self.file_list.set_state(path, "error", error.message)
        if path == self.current:
            self.image_area.show_text(self.tr("Cannot open {file_name}:\n{message}").format(file_name=file_name(path), message=error.message))
            self.status_bar.clearMessage()
            self.panel.clear_results(pending=False)
            self.panel.set_image_info(None)
            self.errorOccurred.emit(self.tr("Cannot open image"), f"{file_name(path)}: {error.message}", error.details)

    @gui_only
    def _display(self, path: str, loaded) -> None:
        self.image_area.show_image(loaded)
        self.status_bar.clearMessage()
        self.panel.set_image_info(loaded.meta)
        if self.info is not None and self.info.cards:
            self.panel.show_status("")
        self.show_predictions(path)
        self.show_heatmap()

    # ------------------------------------------------------------------ session
    def load(self, device: str, task: str | None) -> None:
        """(Re)load the models of ``task`` on ``device``; running predictions and heat-maps are dropped."""
        for tag in ("session", "predict", "prefetch", "explain"):
            self.lane.cancel(tag)
        self.info = None
        self.panel.show_status(self.tr("Loading models…"))
        self.panel.set_models_enabled(False)
        job = Job(jobs.load_models, self.model_session, device, task, name="load models", tag="session", key=("session",))
        job.returned.connect(self._on_session)
        job.progressed.connect(self.progressed)
        self.host.submit("models", job, PRIORITY["session"])

    @Slot(object)
    @gui_only
    def _on_session(self, info) -> None:
        if info is None:
            return
        self.info = info
        self.panel.set_models(info)
        if not info.cards:
            from meddiag_desktop.core.paths import shipped_weights_dir

            self.panel.show_status(self.tr("No models installed. The shipped weights are missing from {shipped_weights_dir} (see the README), or add your own models.").format(shipped_weights_dir=shipped_weights_dir()))
        elif info.errors:
            self.panel.show_status(self.tr("{len} model(s) could not be loaded - see their columns.").format(len=len(info.errors)))
        else:
            self.panel.show_status("" if self.current else self.tr("Open an image to see the predictions."))
        freeze_long_lived_objects()  # torch and the models are loaded now
        self.sessionLoaded.emit(info)
        if self.current and self.current in self.cache.images:
            self.show_predictions(self.current)
            self.show_heatmap()
        self.schedule_prefetch()

    def model_ids(self) -> list[str]:
        """The models that loaded."""
        if self.info is None:
            return []
        return [c.id for c in self.info.cards if c.id not in self.info.errors]

    # ------------------------------------------------------------------ predictions
    def show_predictions(self, path: str) -> None:
        """Show the cached results of ``path`` (an image in the cache) and predict the missing ones."""
        if self.info is None:
            self.panel.clear_results(pending=False)
            return
        missing = []
        for card_id in self.model_ids():
            result = self.cache.results.get((path, card_id))
            if result is None:
                self.panel.columns[card_id].set_pending()
                missing.append(card_id)
            else:
                self._show_result(card_id, result)
        if missing:
            self._request(path, missing, self.cache.images[path].array, "predict")

    def _show_result(self, card_id: str, result) -> None:
        if isinstance(result, PredictionFailure):
            self.panel.show_failure(card_id, result.text)
        else:
            self.panel.show_prediction(card_id, result)

    def _request(self, path: str, card_ids, image, tag: str) -> None:
        key = ("predict", path)
        running = self.host.in_flight(key)
        if running is not None:
            if not (tag == "predict" and running.tag == "prefetch" and running.state == "queued"):
                return
            running.cancel()  # promote a queued prefetch to an immediate prediction
        job = Job(jobs.predict, self.model_session, path, image, tuple(card_ids), name="predict", tag=tag, key=key)
        job.yielded.connect(self._on_prediction_event)
        if tag == "prefetch":
            job.finished.connect(self.pump_prefetch)
        self.host.submit("models", job, PRIORITY[tag])

    def schedule_prefetch(self) -> None:
        """Predict the other listed files in the background (lowest priority), to fill the cache.
        At most PREFETCH_AHEAD jobs exist at a time: opening 1000 files creates no 1000 jobs."""
        self.cache.queue_prefetch(self.file_list.paths(), self.current)
        self.pump_prefetch()

    def pump_prefetch(self) -> None:
        ids = self.model_ids()
        if not ids or self.host.closed:
            return
        while len(self.lane.jobs("prefetch")) < PREFETCH_AHEAD:
            todo = self.cache.next_prefetch(ids, busy=lambda path: self.host.in_flight(("predict", path)) is not None)
            if todo is None:
                return
            self._request(*todo, None, "prefetch")

    @Slot(object)
    @gui_only
    def _on_prediction_event(self, event: jobs.Prediction | jobs.PredictionFailed) -> None:
        self.cache.record(event)
        if isinstance(event, jobs.PredictionFailed) and event.model is None:
            self.file_list.set_state(event.path, "error", event.error)
            return
        if event.path == self.current:
            self._show_result(event.model, self.cache.results[(event.path, event.model)])
        if self.info is not None and self.cache.complete(event.path, self.model_ids()):
            self.file_list.set_state(event.path, "done", self.cache.summary(event.path, self.info.cards))
        self.predictionsUpdated.emit(event.path)

    # ------------------------------------------------------------------ heat-maps
    def show_heatmap(self) -> None:
        """The panel's chosen heat-map of the file on screen, when the overlay is on (computed first
        when not cached)."""
        choice, viewer, path = self.panel.explain_choice(), self.image_area.viewer, self.current
        if not self.image_area.overlay_enabled or choice is None or viewer is None or path is None \
                or path not in self.cache.images or self.info is None:
            self.lane.cancel("explain")
            self.panel.set_explain_caption("")
            return
        card_id, method = choice
        key = (path, card_id, method)
        heat = self.cache.heatmaps.get(key)
        if heat is not None:
            arch = next((c.config.arch for c in self.info.cards if c.id == card_id), "")
            result = self.cache.results.get((path, card_id))
            decision = getattr(result, "label", None) if not getattr(result, "refused", True) else None
            words = (method_name(method), family_name(arch), heat.target_label)
            kind = dict(class_agnostic=method == "attention", empty=not float(heat.heatmap.max()) > 0.0)
            if viewer.heatmap_key != key:  # the legend names the class and method, not the decision
                viewer.set_heatmap(heat.heatmap, key, indices=heat.overlay, caption=heatmap_caption(*words, None, **kind))
            self.panel.set_explain_caption(heatmap_caption(*words, decision, **kind))
            self.overlayUpdated.emit()
            return
        if viewer.heatmap_key != key:
            viewer.set_heatmap(None)
        for job in self.lane.jobs("explain"):
            if job.key[1:] != key:
                job.cancel()
        self.panel.set_explain_caption(self.tr("Computing {method_name}…").format(method_name=method_name(method)))
        if self.host.in_flight(("explain", *key)) is None:
            job = Job(jobs.explain_image, self.model_session, path, self.cache.images[path].array, card_id, method,
                      name="explain", tag="explain", key=("explain", *key))
            job.returned.connect(self._on_heatmap)
            job.progressed.connect(self.progressed)
            self.host.submit("models", job, PRIORITY["explain"])

    @Slot(object)
    @gui_only
    def _on_heatmap(self, heat: jobs.HeatMap) -> None:
        self.cache.heatmaps.put((heat.path, heat.model, heat.method), heat)
        if heat.path == self.current:
            self.show_heatmap()
