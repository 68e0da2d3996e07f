"""Loading a job's own models: ``core.loading.load_predictors`` with its ``Progress`` forwarded to the
job's ``progress`` callable (the scan, DICOM export and intake jobs each load their own predictors:
explanations hook into the main window's models, so those are never shared)."""
from __future__ import annotations

from typing import Any, Sequence


def predictors_for_job(progress, cancel, cards: Sequence, device: str, keep_going: bool = False) -> Any:
    """The final ``core.loading.LoadedModels``, or None when ``cancel`` was set while loading."""
    from meddiag_desktop.core.loading import LoadedModels, load_predictors

    for event in load_predictors(cards, device, cancel=cancel, keep_going=keep_going):
        if isinstance(event, LoadedModels):
            return event
        progress(event.done, event.total, event.text)
    return None
