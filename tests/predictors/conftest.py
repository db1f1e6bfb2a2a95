"""Fixtures for the prediction-model tests: the shipped models, the cohorts, and one
model per condition trained on part of its cohort so the rest is truly held out."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import resources
from predictors import load_models
from predictors.cohort import read_cohorts
from predictors.model import ConditionModel

COHORTS = [resources.path("cohorts", "cohort_cts.csv"), resources.path("cohorts", "cohort_cmc1.csv")]
FAST_PENALTY = 100.0  # fixed ridge strength: the cross-validated choice is slow for tests


@pytest.fixture(scope="session")
def shipped():
    return load_models()


@pytest.fixture(scope="session")
def cohort_rows():
    """Raw CSV rows (strings, as an export gives them) of both cohorts."""
    rows = []
    for path in COHORTS:
        with open(path, newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


@pytest.fixture(scope="session")
def cohorts():
    return read_cohorts(COHORTS)


@pytest.fixture(scope="session")
def held_out(cohorts):
    """{condition: (model fitted on 70%, the other 30% as a Cohort)}."""
    result = {}
    rng = np.random.default_rng(7)
    for condition, cohort in cohorts.items():
        order = rng.permutation(len(cohort))
        cut = int(len(cohort) * 0.7)
        train, test = cohort.subset(np.sort(order[:cut])), cohort.subset(np.sort(order[cut:]))
        result[condition] = (ConditionModel.fit(train, penalty=FAST_PENALTY, with_reference=False), test)
    return result
