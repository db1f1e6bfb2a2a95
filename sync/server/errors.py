"""Validation problems in plain Dutch, naming the field and never repeating its value.

pydantic's own messages are English and some error types would echo the input; this
turns each error into "veld: wat er mis is" from the error type and its context only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

_MESSAGES = {
    "missing": "ontbreekt",
    "extra_forbidden": "is geen bekend veld",
    "string_type": "moet tekst zijn",
    "string_unicode": "bevat tekens die geen geldige Unicode zijn; typ de tekst opnieuw",
    "int_type": "moet een geheel getal zijn",
    "int_parsing": "moet een geheel getal zijn",
    "bool_type": "moet true of false zijn",
    "dict_type": "moet een object zijn",
    "model_type": "moet een object zijn",
    "model_attributes_type": "moet een object zijn",
    "list_type": "moet een lijst zijn",
    "uuid_type": "moet een UUID zijn",
    "uuid_parsing": "moet een UUID zijn, bijvoorbeeld 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "uuid_version": "moet een UUID zijn",
    "string_pattern_mismatch": "heeft niet de juiste vorm",
    "string_too_short": "is te kort of leeg",
    "json_invalid": "is geen geldige JSON",
    "json_type": "is geen geldige JSON",
    "date_type": "moet een datum zijn (JJJJ-MM-DD)",
    "datetime_type": "moet een tijdstip zijn (ISO 8601)",
}


ROOT = "verzoek"


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "header", "path")]
    return ".".join(parts) or ROOT


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error dict as 'field: problem' in Dutch ('verzoek: …' for the whole)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    field = _field(tuple(error.get("loc", ())))
    if kind == "value_error":
        message = str(ctx.get("error", error.get("msg", "")))
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        # model-level checks already start with the field name
        return message if field == ROOT and ":" in message else f"{field}: {message}"
    if kind == "literal_error":
        return f"{field}: onbekende waarde; toegestaan is {str(ctx.get('expected', '')).replace(' or ', ' of ')}"
    if kind in ("string_too_long", "too_long"):
        return f"{field}: is te lang (hoogstens {ctx.get('max_length', '?')})"
    if kind == "too_short":
        return f"{field}: heeft te weinig elementen (minstens {ctx.get('min_length', '?')})"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{field}: moet minstens {ctx.get('ge', ctx.get('gt', '?'))} zijn"
    if kind in ("less_than_equal", "less_than"):
        return f"{field}: mag hoogstens {ctx.get('le', ctx.get('lt', '?'))} zijn"
    return f"{field}: {_MESSAGES.get(kind, 'is ongeldig')}"


def describe_validation_error(error: ValidationError | list[dict[str, Any]], limit: int = 5) -> str:
    errors = error.errors(include_input=False) if isinstance(error, ValidationError) else list(error)
    parts = [describe_error(e) for e in errors[:limit]]
    if len(errors) > limit:
        parts.append(f"en nog {len(errors) - limit} andere problemen")
    return "; ".join(parts)
