"""Model files on disk: plain JSON and NumPy arrays, SHA-256 checked before use.

Per condition (slug `cts`, `cmc1_oa`):

- `<slug>.model.json` — coefficients, feature means/covariances, metadata;
- `<slug>.reference.npz` — the similar-patient arrays (no identifiers);
- `<slug>.card.json` and `<slug>.card.md` — the model card, which lists the SHA-256 of
  the two files above.

Nothing executable is ever loaded: JSON is parsed as data and the arrays are read with
`allow_pickle=False`, so a swapped file cannot run code. Each file is read once into
memory, hashed, compared with the card, and only then parsed from those same bytes (no
window between check and use). A mismatch raises `ModelFileError` naming the file.
The checksums catch damaged, partially copied or edited files; they do not stop someone
who can rewrite both a model and its card — that is what the install folder's file
permissions are for.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from predictors.model import ConditionModel
from predictors.neighbours import Reference


class ModelFileError(Exception):
    """A model file is missing, damaged, changed after training, or not a model file."""


def slug(condition: str) -> str:
    return condition.lower()


def file_names(condition: str) -> dict[str, str]:
    s = slug(condition)
    return {"model": f"{s}.model.json", "reference": f"{s}.reference.npz",
            "card": f"{s}.card.json", "card_markdown": f"{s}.card.md"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_bytes(model: ConditionModel) -> dict[str, bytes]:
    """The two model files' contents (deterministic for the same fitted model)."""
    names = file_names(model.condition)
    model_json = json.dumps(model.to_dict(), indent=1, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    if model.reference is not None:
        np.savez_compressed(buffer, allow_pickle=False, **model.reference.arrays())  # read back without pickle too
    return {names["model"]: model_json, names["reference"]: buffer.getvalue()}


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; installed files must be readable
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def find_cards(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.card.json"))


def read_card(path: Path) -> dict:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"model card {path.name} cannot be read: {error}") from None
    if not isinstance(card, dict) or not isinstance(card.get("files"), dict) or "condition" not in card:
        raise ModelFileError(f"model card {path.name} is not a model card (no condition or file checksums)")
    return card


def load_condition(folder: Path, card: dict, card_name: str) -> ConditionModel:
    """Verify and load one condition's model files as listed in its card."""
    condition = card["condition"]
    names = file_names(condition)
    expected = card["files"]
    contents = {}
    for key in ("model", "reference"):
        name = names[key]
        if name not in expected:
            raise ModelFileError(f"{card_name} lists no checksum for {name}")
        try:
            data = (folder / name).read_bytes()
        except OSError:
            raise ModelFileError(f"model file {name} is missing from {folder}") from None
        if sha256(data) != expected[name]:
            raise ModelFileError(
                f"model file {name} does not match its SHA-256 checksum in {card_name}: it was changed "
                f"or damaged after training. Restore the installed files or retrain "
                f"(python -m predictors.train).")
        contents[key] = data
    try:
        data = json.loads(contents["model"].decode("utf-8"))
        reference = None
        if contents["reference"]:
            with np.load(io.BytesIO(contents["reference"]), allow_pickle=False) as arrays:
                reference = Reference.from_arrays(condition, {k: arrays[k] for k in arrays.files})
        model = ConditionModel.from_dict(data, reference)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"model file {names['model']} cannot be used: {error}") from None
    if model.condition != condition:
        raise ModelFileError(f"{names['model']} holds {model.condition}, its card says {condition}")
    return model
