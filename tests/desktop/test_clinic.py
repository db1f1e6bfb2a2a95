"""[clinic] and [[staff]]: read from the system-wide file only, checked whole, warned about when missing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop import config
from desktop.core.clinic import ClinicError, parse_staff
from desktop.operations import selftest

CLINIC = '''
[clinic]
name = "Handkliniek Utrecht"
address = "Voorbeeldlaan 1, 3500 AA Utrecht"
phone = "030 123 45 67"
contact = "het secretariaat, werkdagen 8.30–17.00 uur"
'''
STAFF = '''
[[staff]]
name = "Dr. A. de Vries"
agb = "01234567"
role = "handchirurg"

[[staff]]
name = "B. Jansen"
agb = "07654321"
role = "physician assistant"
'''


def load(tmp_path, system: str, user: str = "", **environ):
    (tmp_path / "system.toml").write_text(system, encoding="utf-8")
    (tmp_path / "user.toml").write_text(user, encoding="utf-8")
    return config.load(environ={"BUNDELASSISTENT_SYSTEM_CONFIG": str(tmp_path / "system.toml"), **environ},
                       config_file=tmp_path / "user.toml")


def test_the_system_wide_file_names_the_clinic_and_its_staff(tmp_path):
    settings = load(tmp_path, 'location = "Utrecht"\n' + CLINIC + STAFF)
    assert settings.clinic.name == "Handkliniek Utrecht" and settings.clinic.phone == "030 123 45 67"
    assert settings.clinic.missing() == ()
    assert [(m.name, m.agb, m.role) for m in settings.staff] == [
        ("Dr. A. de Vries", "01234567", "handchirurg"), ("B. Jansen", "07654321", "physician assistant")]
    assert settings.staff[0].label() == "Dr. A. de Vries — handchirurg"
    assert settings.location == "Utrecht"  # the flat settings around the tables are read as before


def test_a_users_own_file_cannot_change_the_clinic_or_add_a_colleague(tmp_path):
    settings = load(tmp_path, CLINIC, user='[clinic]\nphone = "06 12345678"\n\n' + STAFF)
    assert settings.clinic.phone == "030 123 45 67" and settings.staff == ()
    ignored = " ".join(notice.get("nl") for notice in settings.notices)
    assert "'clinic' wordt genegeerd" in ignored and "'staff' wordt genegeerd" in ignored


@pytest.mark.parametrize("staff,expected", [
    ('[[staff]]\nname = "A"\nagb = "1234567"\nrole = "arts"\n', "nummer 1 (A): agb moet een AGB-code van precies 8"),
    ('[[staff]]\nname = "A"\nagb = 12345678\nrole = "arts"\n', "nummer 1 (A): agb moet een AGB-code"),
    ('[[staff]]\nagb = "12345678"\n', "nummer 1 heeft geen name"),
    ('[[staff]]\nname = "A"\nagb = "12345678"\nrol = "arts"\n', "nummer 1 kent de sleutel 'rol' niet"),
    ('[[staff]]\nname = "A"\nagb = "12345678"\n[[staff]]\nname = "B"\nagb = "12345678"\n',
     "nummer 2: de AGB-code 12345678 staat al eerder in de lijst"),
    ('staff = "Dr. A. de Vries"\n', "staff moet een lijst van [[staff]]-blokken zijn"),
    ('[clinic]\ntelefoon = "030"\n', "[clinic] kent de sleutel 'telefoon' niet; bekend zijn name, address, phone"),
    ('[clinic]\nphone = 301234567\n', "clinic.phone moet tekst zijn"),
])
def test_an_unusable_clinic_or_staff_list_stops_with_the_file_and_what_to_fix(tmp_path, staff, expected):
    with pytest.raises(config.ConfigError) as error:
        load(tmp_path, staff)
    assert str(tmp_path / "system.toml") in str(error.value) and expected in str(error.value)


def test_the_same_refusal_reads_in_english(tmp_path):
    with pytest.raises(ClinicError) as error:
        parse_staff([{"name": "A", "agb": "123"}])
    assert error.value.message.get("en") == (
        "[[staff]] number 1 (A): agb must be an AGB code of exactly 8 digits, in quotes")


names = st.text(st.characters(categories=("L", "Zs"), exclude_characters="\u2028\u2029"), min_size=1,
                max_size=40).filter(str.strip)


@given(st.lists(st.tuples(names, st.from_regex(r"\A[0-9]{8}\Z"), names), max_size=20,
                unique_by=lambda member: member[1]))
def test_any_valid_staff_list_is_read_as_written(members):
    entries = [{"name": name, "agb": agb, "role": role} for name, agb, role in members]
    staff = parse_staff(entries)
    assert [(m.name, m.agb, m.role) for m in staff] == [
        (" ".join(name.split()), agb, " ".join(role.split())) for name, agb, role in members]


def test_the_self_test_warns_what_the_clinic_still_lacks(tmp_path):
    partial = load(tmp_path, '[clinic]\nname = "Handkliniek Utrecht"\n')
    with pytest.raises(selftest.CheckWarning, match="mist address, phone, contact"):
        selftest.check_clinic(partial)
    without_staff = load(tmp_path, CLINIC)
    with pytest.raises(selftest.CheckWarning, match="geen \\[\\[staff\\]\\]"):
        selftest.check_clinic(without_staff)
    assert selftest.check_clinic(load(tmp_path, CLINIC + STAFF)) == "Handkliniek Utrecht; 2 medewerkers in de lijst"
    assert "Kliniek en medewerkers" in [name for name, _ in selftest.DEFAULT_CHECKS]
