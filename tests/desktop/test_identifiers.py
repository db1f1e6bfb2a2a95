import datetime as dt

import pytest

from desktop.core.identifiers import (
    InvalidField,
    age_on,
    mask_bsn,
    normalize_icd10,
    shipped_uzovi_table,
    validate_agb,
    validate_birth_date,
    validate_bsn,
    validate_inclusion_date,
    validate_uzovi,
)


def eleven_proof(digits: str) -> bool:
    """Independent statement of the 11-proef: weights 9..2 and -1, sum divisible by 11."""
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0


@pytest.mark.parametrize("number", ["111222333", "123456782", "999990019"])
def test_valid_bsn_is_accepted(number):
    assert eleven_proof(number)
    assert validate_bsn(number) == number


def test_bsn_accepts_dots_and_spaces_from_a_card():
    assert validate_bsn("1234.56.782") == "123456782"
    assert validate_bsn(" 123 456 782 ") == "123456782"


def test_every_single_digit_typo_of_a_valid_bsn_is_caught_when_the_11_proef_fails():
    base = "123456782"
    for position in range(9):
        for digit in "0123456789":
            candidate = base[:position] + digit + base[position + 1:]
            if eleven_proof(candidate):
                assert validate_bsn(candidate) == candidate
            else:
                with pytest.raises(InvalidField, match="11-proef"):
                    validate_bsn(candidate)


def test_full_width_digits_from_an_input_method_become_plain_digits():
    assert validate_bsn("１２３４５６７８２") == "123456782"
    assert validate_uzovi("３３１１") == "3311" and validate_agb("０１２３４５６７") == "01234567"
    with pytest.raises(InvalidField, match="UZOVI"):
        validate_uzovi("٣٣١١")


@pytest.mark.parametrize("number, message", [
    ("12345678", "precies 9 cijfers"),     # stdnum would zero-pad this to a valid-looking number
    ("1234567820", "precies 9 cijfers"),
    ("12345678a", "alleen cijfers"),
    ("١٢٣٤٥٦٧٨٢", "alleen cijfers"),  # Arabic-Indic digits: int() reads them, the 11-proef passes
    ("१२३४५६७८२", "alleen cijfers"),  # Devanagari
    ("", "ontbreekt"),
    (None, "ontbreekt"),
    (123456782.0, "reeks cijfers"),
])
def test_bad_bsn_gets_a_message_that_says_how_to_fix_it(number, message):
    with pytest.raises(InvalidField, match=message) as error:
        validate_bsn(number)
    assert error.value.field == "bsn"


def test_bsn_message_never_repeats_the_number():
    with pytest.raises(InvalidField) as error:
        validate_bsn("123456789")
    assert "123456789" not in str(error.value)


def test_short_bsn_that_stdnum_would_pad_into_validity_is_refused():
    # 012345672 passes the 11-proef; typed without the leading zero it is 8 digits.
    assert eleven_proof("012345672")
    with pytest.raises(InvalidField, match="9 cijfers"):
        validate_bsn("12345672")


def test_mask_bsn_keeps_only_last_three_digits():
    assert mask_bsn("123456782") == "******782"
    assert mask_bsn(None) == ""


def test_agb_is_eight_digits():
    assert validate_agb("01234567") == "01234567"
    for bad in ("1234567", "123456789", "0123456a"):
        with pytest.raises(InvalidField, match="8 cijfers"):
            validate_agb(bad)


def test_uzovi_keeps_leading_zeros_and_refuses_letters():
    assert validate_uzovi("3311") == "3311"
    assert validate_uzovi(736) == "0736"
    with pytest.raises(InvalidField, match="4 cijfers"):
        validate_uzovi("ZK01")
    with pytest.raises(InvalidField, match="4 cijfers"):
        validate_uzovi("33111")


def test_uzovi_table_holds_zilveren_kruis_with_insurer_and_label():
    table = shipped_uzovi_table()
    assert table["3311"].label == "Zilveren Kruis"
    assert table["3311"].insurer == "Achmea"
    assert all(len(code) == 4 and code.isdigit() for code in table)
    labels = [insurer.label for insurer in table.values()]
    assert len(labels) == len(set(labels)), "users pick by name, so names must be unique"


@pytest.mark.parametrize("raw, code", [("G56.0", "G56.0"), ("g56.0", "G56.0"), ("G560", "G56.0"),
                                       (" M18.1 ", "M18.1"), ("S72", "S72")])
def test_icd10_codes_are_normalised(raw, code):
    assert normalize_icd10(raw) == code


@pytest.mark.parametrize("raw", ["56.0", "carpal tunnel", "G5", "GG56.0", 560])
def test_non_icd10_text_is_refused(raw):
    with pytest.raises(InvalidField):
        normalize_icd10(raw)


@pytest.mark.parametrize("born, on, age", [
    ("2007-03-01", "2025-03-01", 18),
    ("2007-03-02", "2025-03-01", 17),
    ("2008-02-29", "2026-02-28", 17),
    ("2008-02-29", "2026-03-01", 18),
    ("1960-12-31", "2025-01-01", 64),
])
def test_age_counts_completed_years(born, on, age):
    assert age_on(dt.date.fromisoformat(born), dt.date.fromisoformat(on)) == age


def test_birth_date_after_inclusion_or_implausibly_old_is_refused():
    on = dt.date(2025, 3, 1)
    with pytest.raises(InvalidField, match="na de inclusiedatum"):
        validate_birth_date("2025-03-02", on)
    with pytest.raises(InvalidField, match="niet aannemelijk"):
        validate_birth_date("1890-01-01", on)
    with pytest.raises(InvalidField, match="JJJJ-MM-DD"):
        validate_birth_date("1970-02-30", on)
    assert validate_birth_date("01-03-1970", on) == dt.date(1970, 3, 1)


def test_inclusion_in_the_future_is_refused():
    today = dt.date(2025, 3, 1)
    assert validate_inclusion_date("2025-03-01", today) == today
    with pytest.raises(InvalidField, match="toekomst"):
        validate_inclusion_date("2025-03-02", today)
