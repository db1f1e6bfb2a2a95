"""Model files load only when they match their card's SHA-256, and never run code."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import threading

import numpy as np
import pytest

import resources
from predictors import ModelFileError, load_models


@pytest.fixture
def models_copy(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(resources.path("models"), folder)
    return folder


def test_shipped_models_load_and_cover_both_conditions(shipped):
    assert shipped.conditions == ("CMC1_OA", "CTS")
    for condition in shipped.conditions:
        card = shipped.card(condition)
        for name, digest in card["files"].items():
            assert hashlib.sha256(resources.path("models", name).read_bytes()).hexdigest() == digest


def test_tampered_model_file_is_refused(models_copy):
    path = models_copy / "cts.model.json"
    data = json.loads(path.read_text())
    data["outcomes"]["surgery/pain/12"]["mean_intercept"] += 1.0  # a plausible, silent edit
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
    with pytest.raises(ModelFileError) as caught:
        load_models(models_copy)
    assert "cts.model.json" in str(caught.value)
    assert "checksum" in str(caught.value)


def test_damaged_reference_file_is_refused(models_copy):
    path = models_copy / "cmc1_oa.reference.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"cmc1_oa.reference.npz"):
        load_models(models_copy)


def test_missing_model_file_is_reported(models_copy):
    (models_copy / "cts.model.json").unlink()
    with pytest.raises(ModelFileError, match=r"cts.model.json is missing"):
        load_models(models_copy)


def test_empty_folder_is_reported(tmp_path):
    with pytest.raises(ModelFileError, match="no model cards"):
        load_models(tmp_path)


def test_pickled_arrays_are_never_loaded_even_with_matching_checksum(models_copy):
    """Someone who rewrites both file and card still cannot make the loader unpickle."""
    buffer = io.BytesIO()
    np.savez(buffer, features=np.array([object()], dtype=object))
    payload = buffer.getvalue()
    (models_copy / "cts.reference.npz").write_bytes(payload)
    card_path = models_copy / "cts.card.json"
    card = json.loads(card_path.read_text())
    card["files"]["cts.reference.npz"] = hashlib.sha256(payload).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="cannot be used"):
        load_models(models_copy)


def test_card_without_checksums_is_refused(models_copy):
    card_path = models_copy / "cts.card.json"
    card = json.loads(card_path.read_text())
    del card["files"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="not a model card"):
        load_models(models_copy)


def test_loading_from_several_threads_at_once(cohort_rows):
    results, errors = [None] * 6, []

    def load(index):
        try:
            results[index] = load_models().predict(cohort_rows[0])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(result == results[0] for result in results)
