"""The handout's personal page for the patient in the room (issue 14 item 4).

What Samen beslissen showed is the consultation's decision support; whether the models that
made it are the demonstration models (trained on synthetic data) the loaded models' card says.
The page itself is written by the domain core (`desktop.core.chances`), without Qt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from desktop.core.chances import personal_html
from desktop.operations.consultation import Consultation
from desktop.operations.services import Services

__all__ = ["demonstration_models", "personal_page", "shown_decision_support"]


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
    models = services.models
    try:
        card = models.card(condition) if models is not None else None
    except KeyError:
        card = None
    if card is None or card.get("version") != model_version:
        return True
    return bool(card.get("synthetic"))


def personal_page(services: Services, consultation: Consultation, condition: str | None, language: str) -> str:
    """The personal page's HTML, or "" when no predictions were shown for this patient."""
    support = shown_decision_support(consultation)
    if not support or condition is None:
        return ""
    return personal_html(support, condition, language,
                         demonstration_models(services, condition, str(support["model_version"])))
