"""Invalid patient values are refused with a message naming the field, never the value."""

from __future__ import annotations

import pytest

from predictors import PatientValueError

GOOD = {"patient_id": "CTS-123456789", "condition": "CTS", "age": "54", "sex": "F", "work_status": "office",
        "nrs_pain_0": "6", "bctq_fss_0": "2.5"}


@pytest.mark.parametrize("field, value, allowed", [
    ("age", "abc", "12 to 120"),
    ("age", "150", "12 to 120"),
    ("work_status", "astronaut", "office, physical, not_working, retired"),
    ("sex", "X", "F, M"),
    ("diabetes", "2", "0 or 1"),
    ("ncs_severity", "1.5", "whole number"),
    ("bctq_fss_0", "7", "1 to 5"),
    ("nrs_pain_0", "nan-ish", "0 to 10"),
    ("bmi", "inf", "10 to 80"),
    ("condition", "ACL", "CTS, CMC1_OA"),
])
def test_invalid_value_names_field_and_what_is_allowed(shipped, field, value, allowed):
    with pytest.raises(PatientValueError) as caught:
        shipped.predict({**GOOD, field: value})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert allowed in error.en
    assert error.nl and error.nl != error.en
    assert str(error).startswith(field)


def test_message_does_not_echo_identifiers(shipped):
    """A BSN typed into the age field must not end up in a log through the message."""
    with pytest.raises(PatientValueError) as caught:
        shipped.predict({**GOOD, "age": "123456782"})
    assert "123456782" not in str(caught.value)
    assert GOOD["patient_id"] not in str(caught.value)


def test_missing_condition_is_an_error(shipped):
    with pytest.raises(PatientValueError) as caught:
        shipped.predict({"age": 50})
    assert caught.value.field == "condition"


def test_accepts_numbers_strings_and_lenient_spelling(shipped):
    as_text = shipped.predict(GOOD)
    as_numbers = shipped.predict({**GOOD, "age": 54, "nrs_pain_0": 6.0, "bctq_fss_0": 2.5,
                                  "sex": "f", "work_status": " Office ", "condition": "cts"})
    assert as_numbers.surgery.pain.month12 == as_text.surgery.pain.month12
    comma = shipped.predict({**GOOD, "bctq_fss_0": "2,5"})
    assert comma.surgery.function.month12 == as_text.surgery.function.month12
    dutch = shipped.predict({**GOOD, "sex": "V", "diabetes": "nee", "work_status": "kantoor"})
    english = shipped.predict({**GOOD, "sex": "F", "diabetes": 0, "work_status": "office"})
    assert dutch.surgery.pain.month12 == english.surgery.pain.month12


def test_unknown_values_may_be_none_or_empty(shipped):
    none = shipped.predict({**GOOD, "bmi": None, "pcs": "", "phq4": float("nan")})
    assert {"bmi", "pcs", "phq4"} <= set(none.imputed)


def test_option_names_are_checked(shipped):
    with pytest.raises(ValueError, match="option must be one of"):
        shipped.predict(GOOD).option("splint")
    with pytest.raises(ValueError, match="option must be one of"):
        shipped.similar_patients(GOOD, "splint")
