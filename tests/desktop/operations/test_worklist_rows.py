"""What a worklist search matches and how a server's refusal reads (no Qt)."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from desktop.core.bundles import Text
from desktop.core.states import RecordState
from desktop.operations import worklist as rows

names = st.text(st.characters(categories=("L",)), min_size=1, max_size=12)


def entry(bsn: str, birth: dt.date, name: str) -> rows.Entry:
    record = {"id": "x", "inclusion_date": "2025-03-14", "birth_date": birth.isoformat(), "name": name, "bsn": bsn,
              "side": "R", "explained_by": "", "bundle": "hand-wrist", "condition": "CTS",
              "state": RecordState.REGISTERED, "server_message": None, "withdrawal_reason": None}
    return rows.entry(record, None, pending=False)


@given(bsn=st.from_regex(r"\A[0-9]{9}\Z"), birth=st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)),
       first=names, last=names)
def test_every_way_of_typing_finds_the_patient(bsn, birth, first, last):
    found = entry(bsn, birth, f"{first} {last}")
    typed = [bsn, bsn[-4:], birth.strftime("%d-%m-%Y"), birth.strftime("%d%m%Y"),
             f"{birth.day}-{birth.month}-{birth.year}", birth.strftime("%d.%m.%Y"), last.upper(),
             f"{first.lower()} {last}"]
    for query in typed:
        assert rows.matcher(query)(found), query


@given(birth=st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)))
def test_a_birth_date_does_not_find_another_day(birth):
    other = birth + dt.timedelta(days=1)
    assert not rows.matcher(birth.strftime("%d-%m-%Y"))(entry("111222333", other, "Jansen"))


def test_a_fields_refusal_names_the_label_and_the_next_step():
    text = rows.server_words("record 25: side: moet L, R of both zijn")
    assert text.get("nl") == ("Afgewezen door de server: Zijde klopt niet (moet L, R of both zijn). Corrigeer Zijde "
                              "met Corrigeren… (F2); daarna wordt de inclusie opnieuw verzonden.")
    assert text.get("en").startswith("Rejected by the server: Side is not right")
    birth = rows.server_words("record 1: birth_date: ligt in de toekomst")
    assert "kan hier niet worden gecorrigeerd" in birth.get("nl") and "Ctrl+Shift+I" in birth.get("nl")
    assert rows.server_words("revisie 2 is al ontvangen").get("nl").endswith("vraag IT als de melding blijft.")


def test_the_bsn_shows_its_last_four_digits():
    assert rows.mask("123456782") == "*****6782"
    assert isinstance(entry("123456782", dt.date(1971, 6, 2), "J").bundle, Text)


def test_a_name_typed_without_its_special_letters_is_found():
    """Patients' names come from many languages; the assistant types them on a Dutch keyboard."""
    for name, typed in [("Ayşe Yıldız", "ayse yildiz"), ("Jürgen Groß", "jurgen gross"), ("Łukasz Nowak", "Lukasz"),
                        ("Zoë de Wit", "zoe"), ("İlker Öztürk", "ilker ozturk")]:
        assert rows.matcher(typed)(entry("123456782", dt.date(1970, 1, 1), name)), (name, typed)
