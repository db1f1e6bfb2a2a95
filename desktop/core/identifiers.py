"""Dutch identifiers and dates: BSN, UZOVI, AGB, ICD-10 codes, birth and inclusion dates.

Validators return the cleaned value or raise `InvalidField` with a message a user can act
on; the message never repeats the value itself, because a BSN is a patient identifier.
The only file this module reads is the UZOVI table shipped as package data
(`shipped_uzovi_table`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum.nl import bsn as stdnum_bsn

import resources
from desktop.core.labels import field_label
from desktop.core.messages import Plain, Translatable, msg, text

BSN_OID = "2.16.840.1.113883.2.4.6.3"
UZOVI_OID = "2.16.840.1.113883.2.4.6.4"
AGB_OID = "2.16.840.1.113883.2.4.6.1"

OLDEST_PLAUSIBLE_AGE = 125


class InvalidField(ValueError):
    """A user-supplied field is wrong; `field` names it (for the code), `label` as the user
    knows it, `message` says how to fix it in either language. `str()` is the Dutch text."""

    def __init__(self, field: str, message: Translatable | str, label: Translatable | None = None):
        self.field = field
        self.message: Translatable = Plain(message) if isinstance(message, str) else message  # str: not yet keyed
        self.label = label if label is not None else field_label(field)
        super().__init__(self.text("nl"))

    def text(self, language: str = "nl") -> str:
        """'Inclusiedatum: ligt in de toekomst; …' — the field by its label, then the problem."""
        return text("core.invalid.field", language, field=self.label, problem=self.message)

    get = text  # a Translatable: a refusal can name it as a parameter


def is_digits(text: str) -> bool:
    """Only the digits 0-9. `str.isdigit` and regex `\\d` also take other scripts' digits
    ("４", "٤"), which int() reads as numbers: a BSN written so would pass the 11-proef
    and still not equal the same BSN in plain digits (a duplicate check bypassed)."""
    return text.isascii() and text.isdigit()


def _digits_only(value: object, field: str) -> str:
    """Typed or pasted digits, without spaces, dots and dashes; full-width digits (from some
    input methods and PDFs) become plain digits (NFKC), other scripts' digits are refused later."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidField(field, msg("core.invalid.missing"))
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidField(field, msg("core.invalid.digits_text"))
    return re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", str(value)))


def validate_bsn(value: object, field: str = "bsn") -> str:
    """A BSN has exactly 9 digits and passes the 11-proef.

    python-stdnum checks the 11-proef but zero-pads shorter numbers, so the length is
    checked here first: an 8-digit number typed from a card is a typo, not a BSN.
    """
    text = _digits_only(value, field)
    if not is_digits(text):
        raise InvalidField(field, msg("core.invalid.digits_only"))
    if len(text) != 9:
        raise InvalidField(field, msg("core.invalid.bsn_length", count=len(text)))
    if not stdnum_bsn.is_valid(text):
        raise InvalidField(field, msg("core.invalid.bsn_check"))
    return text


def mask_bsn(value: str | None, shown: int = 3) -> str:
    """Only the last `shown` digits: three for the one patient on screen (with name and age),
    more in a list of many patients."""
    if not value:
        return ""
    hidden = max(len(value) - shown, 0)
    return "*" * hidden + value[hidden:]


def validate_agb(value: object, field: str = "clinician_agb") -> str:
    """AGB codes (clinicians and locations) are 8 digits; they carry no check digit."""
    text = _digits_only(value, field)
    if not is_digits(text) or len(text) != 8:
        raise InvalidField(field, msg("core.invalid.agb"))
    return text


def validate_uzovi(value: object, field: str = "insurer_uzovi") -> str:
    """UZOVI codes are 4 digits; a number like 311 from a spreadsheet keeps its zeros."""
    text = _digits_only(value, field)
    if not is_digits(text) or len(text) > 4:
        raise InvalidField(field, msg("core.invalid.uzovi"))
    return text.zfill(4)


@dataclass(frozen=True)
class Insurer:
    uzovi: str
    label: str
    insurer: str

    @property
    def display(self) -> str:
        return f"{self.label} ({self.uzovi})"


def parse_uzovi_table(text: str, source: str = "uzovi.csv") -> dict[str, Insurer]:
    """Parse a UZOVI table (CSV with uzovi,label,insurer); `source` names it in messages."""
    table: dict[str, Insurer] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = validate_uzovi(row.get("uzovi"), f"{source}: uzovi")
        table[code] = Insurer(code, (row.get("label") or "").strip(), (row.get("insurer") or "").strip())
    return table


@lru_cache(maxsize=1)
def shipped_uzovi_table() -> dict[str, Insurer]:
    """The UZOVI table shipped in resources/ as package data, read once."""
    return parse_uzovi_table(resources.path("uzovi.csv").read_text(encoding="utf-8"))


def insurer_name(uzovi: str | None) -> Translatable:
    """The insurer as a reason names it: its label and code, or why there is no label."""
    if not uzovi:
        return msg("core.insurer.unknown")
    insurer = shipped_uzovi_table().get(uzovi)
    return Plain(insurer.display) if insurer else msg("core.insurer.not_in_table", uzovi=uzovi)


ICD10_PATTERN = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")


def normalize_icd10(value: object, field: str = "diagnosis") -> str:
    """Accept 'g56.0', 'G560' and ' G56.0 ' alike; reject what is not an ICD-10 code."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidField(field, msg("core.invalid.missing"))
    if not isinstance(value, str):
        raise InvalidField(field, msg("core.invalid.icd10_text"))
    text = value.strip().upper().replace(" ", "")
    if "." not in text and len(text) > 3:
        text = f"{text[:3]}.{text[3:]}"
    if not ICD10_PATTERN.match(text):
        raise InvalidField(field, msg("core.invalid.icd10"))
    return text


def parse_date(value: object, field: str) -> dt.date:
    """Dates are ISO (2025-03-14); Dutch notation (14-03-2025) is accepted too."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidField(field, msg("core.invalid.missing"))
    if not isinstance(value, str):
        raise InvalidField(field, msg("core.invalid.date_text"))
    text = value.strip()
    for pattern in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise InvalidField(field, msg("core.invalid.date"))


def validate_birth_date(value: object, on: dt.date, field: str = "birth_date") -> dt.date:
    """A birth date lies before the reference date and within a human lifetime."""
    born = parse_date(value, field)
    if born > on:
        raise InvalidField(field, msg("core.invalid.born_after_inclusion"))
    if age_on(born, on) > OLDEST_PLAUSIBLE_AGE:
        raise InvalidField(field, msg("core.invalid.too_old", years=OLDEST_PLAUSIBLE_AGE))
    return born


def validate_inclusion_date(value: object, today: dt.date, field: str = "inclusion_date") -> dt.date:
    """An inclusion is registered on or after the consultation, never ahead of time."""
    day = parse_date(value, field)
    if day > today:
        raise InvalidField(field, msg("core.invalid.inclusion_in_future"))
    return day


def age_on(born: dt.date, on: dt.date) -> int:
    """Completed years; someone born on 29 February turns a year older on 1 March."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
