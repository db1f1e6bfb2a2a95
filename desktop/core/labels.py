"""A field's label, as the user sees it on screen and in the CASE file's documentation.

A refusal names the field by its label ("Inclusiedatum" / "Inclusion date"), never by the
internal name the code and the files use (`inclusion_date`), so a message reads the same in
the window, the CLI and a server's answer. A name with no label here (a key in a bundle
definition or a mapping file, which IT edits by that name) is shown as it is.
"""

from __future__ import annotations

import re

from desktop.core.messages import Msg, Plain, Translatable, msg

FIELD_LABELS: dict[str, Msg] = {
    "bundle": msg("core.field.bundle"),
    "inclusion_date": msg("core.field.inclusion_date"),
    "birth_date": msg("core.field.birth_date"),
    "diagnosis": msg("core.field.diagnosis"),
    "side": msg("core.field.side"),
    "insurer_uzovi": msg("core.field.insurer_uzovi"),
    "facts": msg("core.field.facts"),
    "previous_inclusions": msg("core.field.previous_inclusions"),
    "bsn": msg("core.field.bsn"),
    "name": msg("core.field.name"),
    "clinician_agb": msg("core.field.clinician_agb"),
    "location": msg("core.field.location"),
    "explained_by": msg("core.field.explained_by"),
    "agreed": msg("core.field.agreed"),
    "explanation_language": msg("core.field.explanation_language"),
    "explained_at": msg("core.field.explained_at"),
    "handout_printed": msg("core.field.handout_printed"),
    "initial_treatment": msg("core.field.initial_treatment"),
    "insurer_source": msg("core.field.insurer_source"),
    "insurer_checked_at": msg("core.field.insurer_checked_at"),
    "withdrawal_reason": msg("core.field.withdrawal_reason"),
    "condition": msg("core.field.condition"),
    "end_date": msg("core.field.end_date"),
    "status": msg("core.field.status"),
    "state": msg("core.field.status"),
    "(bestand)": msg("core.field.file"),
    "(regel)": msg("core.field.line"),
}
_PREVIOUS = re.compile(r"previous_inclusions\[(\d+)\](?:\.(\w+))?")


def field_label(field: str) -> Translatable:
    """The label of `field`: `inclusion_date` → Inclusiedatum, `previous_inclusions[0].side` →
    Eerdere inclusie 1: Zijde; a name without a label as it is."""
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    previous = _PREVIOUS.fullmatch(field)
    if previous:
        number = int(previous.group(1)) + 1
        if previous.group(2) is None:
            return msg("core.field.previous_one", number=number)
        return msg("core.field.previous_part", number=number, field=field_label(previous.group(2)))
    return Plain(field)
