"""Named states: logic compares these, never the words a user reads (issue 12).

Plain enums with no I/O and no Qt, so the window imports them before anything slow is loaded;
the window words each state in one place.
"""

from __future__ import annotations

from enum import StrEnum


class ModelState(StrEnum):
    """Where the prediction models are. The window words each state in one place
    (`desktop/ui/main_window.MODEL_STATE_TEXT`); logic compares these, never the words."""

    LOADING = "loading"  # importing scikit-learn and friends
    VERIFYING = "verifying"  # reading the model files and checking them against their cards
    READY = "ready"
    UNAVAILABLE = "unavailable"

    @property
    def busy(self) -> bool:
        return self in (ModelState.LOADING, ModelState.VERIFYING)
