"""What the window asks of the predictors directly: the inputs a model takes and their errors.

The models themselves are loaded by `Services.load_models` and run on a worker thread.
"""

from __future__ import annotations

from predictors import PatientValueError
from predictors.schema import baseline_columns

__all__ = ["PatientValueError", "baseline_columns"]
