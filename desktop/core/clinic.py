"""Who the clinic is and who explains the bundle there, as IT sets it in the system-wide file.

The handout must tell a patient whom to call to stop (issue 13 item 8), and an inclusion must
name the clinician who explained the bundle, not the workstation's shared login (item 9). Both
are the clinic's facts, so only the system-wide config file sets them (like `role`): a user's
own file cannot add a colleague or change the phone number patients are given.

    [clinic]
    name = "Handkliniek Utrecht"
    address = "Voorbeeldlaan 1, 3500 AA Utrecht"
    phone = "030 123 45 67"
    contact = "het secretariaat, werkdagen 8.30–17.00 uur"

    [[staff]]
    name = "Dr. A. de Vries"
    agb = "01234567"
    role = "handchirurg"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from desktop.core.messages import Msg, msg

# Not desktop.core.identifiers: the settings are read before the window appears, and that module
# imports python-stdnum (40 ms); an AGB code is 8 plain digits (ASCII: no other script's digits).

MAX_TEXT = 200
MAX_STAFF = 500


@dataclass(frozen=True)
class Clinic:
    """What a patient needs to reach the clinic; empty text when IT has not set it."""

    name: str = ""
    address: str = ""
    phone: str = ""
    contact: str = ""

    def missing(self) -> tuple[str, ...]:
        """The keys IT still has to fill in, in the order of the file."""
        return tuple(field.name for field in fields(self) if not getattr(self, field.name))


@dataclass(frozen=True)
class StaffMember:
    name: str
    agb: str
    role: str

    def label(self) -> str:
        """As the list shows it: 'Dr. A. de Vries — handchirurg'."""
        return f"{self.name} — {self.role}" if self.role else self.name


class ClinicError(ValueError):
    """The `[clinic]` or `[[staff]]` part of the config is unusable; the message says where and how to fix it."""

    def __init__(self, message: Msg):
        super().__init__(message.get("nl"))
        self.message = message


def parse_clinic(value: object) -> Clinic:
    table = _table(value, "core.clinic.not_a_table")
    unknown = sorted(set(table) - {field.name for field in fields(Clinic)})
    if unknown:
        raise ClinicError(msg("core.clinic.unknown_key", key=unknown[0],
                              known=", ".join(field.name for field in fields(Clinic))))
    return Clinic(**{key: _text(table[key], f"clinic.{key}") for key in table})


def parse_staff(value: object) -> tuple[StaffMember, ...]:
    if not isinstance(value, list):
        raise ClinicError(msg("core.staff.not_a_list"))
    if len(value) > MAX_STAFF:
        raise ClinicError(msg("core.staff.too_many", maximum=MAX_STAFF))
    staff, seen = [], set()
    for number, entry in enumerate(value, 1):
        table = _table(entry, "core.staff.not_a_table", number=number)
        unknown = sorted(set(table) - {"name", "agb", "role"})
        if unknown:
            raise ClinicError(msg("core.staff.unknown_key", number=number, key=unknown[0]))
        name = _text(table.get("name", ""), f"staff {number}: name")
        if not name:
            raise ClinicError(msg("core.staff.no_name", number=number))
        agb = table.get("agb", "")
        if not isinstance(agb, str) or not (agb.isascii() and agb.isdigit() and len(agb) == 8):
            raise ClinicError(msg("core.staff.bad_agb", number=number, name=name))
        if agb in seen:
            raise ClinicError(msg("core.staff.agb_twice", number=number, agb=agb))
        seen.add(agb)
        staff.append(StaffMember(name, agb, _text(table.get("role", ""), f"staff {number}: role")))
    return tuple(staff)


def _table(value: object, key: str, **params: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ClinicError(msg(key, **params))
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ClinicError(msg("core.clinic.not_text", where=where))
    text = " ".join(value.split())
    if len(text) > MAX_TEXT or any(ord(c) < 32 for c in value if c not in "\t\n\r"):
        raise ClinicError(msg("core.clinic.bad_text", where=where, maximum=MAX_TEXT))
    return text
