"""The handout's personal page for the patient in the room (issue 14 item 4).

What Samen beslissen showed is the consultation's decision support; whether the models that
made it are the demonstration models (trained on synthetic data) the loaded models' card says.
The paper says what the screen said: a general estimate while the answers that matter most
were estimated (the page's threshold, from the kept inputs' sources), and no "so many of 100
clearly better" where the starting score leaves no room for it. The page itself is written by
the domain core (`desktop.core.chances`), without Qt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from desktop.core.chances import Reading, personal_html
from desktop.core.states import InputSource
from desktop.operations.consultation import Consultation
from desktop.operations.services import Services

__all__ = ["demonstration_models", "personal_page", "reading", "shown_decision_support"]


def shown_decision_support(consultation: Consultation) -> Mapping[str, Any] | None:
    """What Samen beslissen showed this patient: once saved, what the inclusion keeps; None when nothing was shown."""
    registered = consultation.registered or {}
    kept = registered.get("decision_support")
    if kept:
        return json.loads(kept) if isinstance(kept, str) else kept
    return None if registered else consultation.decision_support


def demonstration_models(services: Services, condition: str, model_version: str) -> bool:
    """True when the numbers of `model_version` come from the demonstration models; also when the
    models that made them are not the ones loaded now, since then nobody can say they are not."""
    card = _loaded_card(services, condition, model_version)
    return card is None or bool(card.get("synthetic"))


def reading(services: Services, support: Mapping[str, Any], condition: str) -> Reading:
    """Personal or general, and which outcomes have no room to improve, for kept decision support.
    Only the models that made the numbers can say whether they were personal: else general."""
    from predictors.api import without_room

    inputs = support["inputs"]
    known = [name for name, item in inputs.items() if item["source"] != InputSource.ESTIMATED]
    models = services.models
    personal = (models is not None and _loaded_card(services, condition, str(support["model_version"])) is not None
                and models.is_personal(condition, known))
    return Reading(personal, without_room(condition, {name: item["value"] for name, item in inputs.items()}))


def _loaded_card(services: Services, condition: str, model_version: str) -> Mapping[str, Any] | None:
    """The loaded model's card for `condition` when it is the model `model_version`, else None."""
    models = services.models
    try:
        card = models.card(condition) if models is not None else None
    except KeyError:
        return None
    return card if card is not None and card.get("version") == model_version else None


def personal_page(services: Services, consultation: Consultation, condition: str | None, language: str) -> str:
    """The personal page's HTML, or "" when no predictions were shown for this patient."""
    support = shown_decision_support(consultation)
    if not support or condition is None:
        return ""
    return personal_html(support, condition, language,
                         demonstration_models(services, condition, str(support["model_version"])),
                         reading(services, support, condition))
