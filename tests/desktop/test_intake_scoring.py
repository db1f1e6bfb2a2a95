"""Scoring and mapping of intake answers (desktop/core/intake.py).

Expected scores are worked out by hand from the published rules (the arithmetic is in
each test), not taken from the code.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core import intake
from desktop.core.intake import Answer, IntakeRejected, MappingError, parse_mapping, score
from predictors import schema


def items(prefix: str, values: list[int | None]) -> list[Answer]:
    return [Answer(f"{prefix}{n}", "integer", value) for n, value in enumerate(values, start=1) if value is not None]


def test_bctq_symptom_severity_is_the_mean_of_the_eleven_items():
    # 3+4+2+3+1+5+2+4+3+3+2 = 32; 32 / 11 = 2.909…
    result = score(items("bctq_sss_q", [3, 4, 2, 3, 1, 5, 2, 4, 3, 3, 2]))
    assert result.values == {"bctq_sss_0": pytest.approx(32 / 11)}


def test_bctq_with_fewer_than_half_missing_is_the_mean_of_the_answered_items():
    # SSS: 6 of 11 answered (5 missing < 5.5): (2+2+3+3+4+4) / 6 = 3.0
    assert score(items("bctq_sss_q", [2, None, 2, 3, None, 3, None, 4, None, 4, None])).values == {"bctq_sss_0": 3.0}
    # 5 of 11 answered: 6 missing, not scored
    assert score(items("bctq_sss_q", [2, None, 2, 3, None, 3, None, 4, None, None, None])).values == {}
    # FSS: 1+2+3+4+5+1+2+3 = 21; 21 / 8 = 2.625
    assert score(items("bctq_fss_q", [1, 2, 3, 4, 5, 1, 2, 3])).values == {"bctq_fss_0": 2.625}
    # 5 of 8 answered: (2+2+4+4+5) / 5 = 3.4; 4 of 8 (half missing): not scored
    assert score(items("bctq_fss_q", [2, 2, None, 4, 4, None, 5, None])).values == {"bctq_fss_0": 3.4}
    assert score(items("bctq_fss_q", [2, 2, None, 4, None, None, 5, None])).values == {}


def test_pcs_and_phq4_are_sums_of_all_their_items_and_not_scored_when_one_is_missing():
    # PCS 0+1+2+3+4+0+1+2+3+4+0+1+2 = 23
    assert score(items("pcs_q", [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2])).values == {"pcs": 23.0}
    assert score(items("pcs_q", [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, None])).values == {}
    # PHQ-4 3+2+1+0 = 6
    assert score(items("phq4_q", [3, 2, 1, 0])).values == {"phq4": 6.0}
    assert score(items("phq4_q", [3, 2, None, 0])).values == {}


def test_mhq_pain_reverses_the_how_often_items_and_scales_to_0_100():
    # q1 often 2 -> 4, q2 moderate 3 -> 3, q3 sometimes 3 -> 3, q4 rarely 4 -> 2, q5 never 5 -> 1
    # raw 13; (13 - 5) / 20 * 100 = 40
    assert score(items("mhq_pain_q", [2, 3, 3, 4, 5])).values == {"mhq_pain_0": 40.0}
    # the worst answer everywhere (always 1 / very severe 5) is 100, the best 0
    assert score(items("mhq_pain_q", [1, 5, 1, 1, 1])).values == {"mhq_pain_0": 100.0}
    assert score(items("mhq_pain_q", [5, 1, 5, 5, 5])).values == {"mhq_pain_0": 0.0}


def test_mhq_pain_never_skips_the_rest_and_missing_items_get_the_mean():
    assert score(items("mhq_pain_q", [5])).values == {"mhq_pain_0": 0.0}
    # q1 always -> 5, q2 very severe 5, q5 always -> 5; q3, q4 missing get the mean 5: raw 25 -> 100
    assert score(items("mhq_pain_q", [1, 5, None, None, 1])).values == {"mhq_pain_0": 100.0}
    # q1 often -> 4, q2 mild 2: two answered, three missing (>= half): not scored
    assert score(items("mhq_pain_q", [2, 2])).values == {}


def test_mhq_function_reverses_every_item():
    # good 2 -> 4, good 2 -> 4, fair 3 -> 3, poor 4 -> 2, very good 1 -> 5: raw 18; (18 - 5) / 20 * 100 = 65
    assert score(items("mhq_function_q", [2, 2, 3, 4, 1])).values == {"mhq_function_0": 65.0}
    # one missing: answered turned 4, 4, 3, 2 mean 3.25, raw 13 + 3.25 = 16.25; (16.25 - 5) / 20 * 100 = 56.25
    assert score(items("mhq_function_q", [2, 2, 3, 4, None])).values == {"mhq_function_0": 56.25}


def test_the_mhq_columns_are_exactly_those_of_the_codebook():
    columns = {column.name for column in schema.SPECIFIC["CMC1_OA"]}
    assert {scale.column for scale in intake.SCALES if scale.column.startswith("mhq")} == \
        {name for name in columns if name.startswith("mhq")} == {"mhq_pain_0", "mhq_function_0"}


def test_direct_columns_categories_and_yes_no():
    result = score([Answer("nrs_pain_0", "integer", 7), Answer("work_status", "coding", "office"),
                    Answer("sex", "string", "f"), Answer("diabetes", "boolean", True),
                    Answer("smoker", "coding", "0"), Answer("bmi", "decimal", 24.5),
                    Answer("symptom_duration_months", "text", "12,5"), Answer("opmerking", "string", "x")])
    assert result.values == {"nrs_pain_0": 7.0, "work_status": "office", "sex": "F", "diabetes": 1.0,
                             "smoker": 0.0, "bmi": 24.5, "symptom_duration_months": 12.5}
    assert result.ignored == {"opmerking"}


@pytest.mark.parametrize("answer", [
    Answer("nrs_pain_0", "integer", 11), Answer("bctq_sss_q3", "integer", 6), Answer("pcs_q1", "integer", -1),
    Answer("phq4_q2", "decimal", 1.5), Answer("work_status", "coding", "kantoorbaan"),
    Answer("diabetes", "integer", 2), Answer("sex", "boolean", True), Answer("ncs_severity", "decimal", 1.5),
    Answer("mhq_pain_q1", "coding", "A9"), Answer("expectation", "string", "veel"),
])
def test_an_out_of_range_or_unknown_answer_rejects_the_response_naming_the_link_id_not_the_value(answer):
    with pytest.raises(IntakeRejected) as rejected:
        score([Answer("expectation" if answer.link_id != "expectation" else "nrs_pain_0", "integer", 5), answer])
    assert [problem.link_id for problem in rejected.value.problems] == [answer.link_id]
    assert str(answer.value) not in rejected.value.problems[0].reason


def test_a_reported_score_must_agree_with_its_items():
    answers = items("phq4_q", [3, 2, 1, 0])
    assert score([*answers, Answer("phq4", "integer", 6)]).values == {"phq4": 6.0}
    with pytest.raises(IntakeRejected) as rejected:
        score([*answers, Answer("phq4", "integer", 9)])
    assert rejected.value.problems[0].link_id == "phq4"
    # BCTQ reported rounded to two decimals (2.91 for 32 / 11) agrees
    assert score([*items("bctq_sss_q", [3, 4, 2, 3, 1, 5, 2, 4, 3, 3, 2]), Answer("bctq_sss_0", "decimal", 2.91)]
                 ).values["bctq_sss_0"] == pytest.approx(32 / 11)


def test_the_same_column_twice_rejects_the_response():
    with pytest.raises(IntakeRejected):
        score([Answer("nrs_pain_0", "integer", 5), Answer("nrs_pain_0", "integer", 5)])


MAPPING = """
ignore = ["opmerkingen"]

[links]
pijn_nu = "nrs_pain_0"
werk = "work_status"
"BCTQ.1" = "bctq_sss_q1"

[codes.work_status]
"1" = "office"
"2" = "physical"

[codes.bctq_sss_q]
A1 = 1
A2 = 2
A3 = 3
A4 = 4
A5 = 5
"""


def test_a_clinic_mapping_renames_link_ids_and_codes():
    mapping = parse_mapping(MAPPING)
    answers = [Answer("pijn_nu", "integer", 4), Answer("werk", "coding", "2"), Answer("opmerkingen", "string", "x"),
               Answer("BCTQ.1", "coding", "A3"),
               *[Answer(f"bctq_sss_q{n}", "coding", "A2") for n in range(2, 12)]]
    result = score(answers, mapping)
    # 3 + 10 x 2 = 23; 23 / 11
    assert result.values == {"nrs_pain_0": 4.0, "work_status": "physical", "bctq_sss_0": pytest.approx(23 / 11)}
    assert result.ignored == frozenset()
    with pytest.raises(IntakeRejected):
        score([Answer("werk", "coding", "9")], mapping)


@pytest.mark.parametrize("text, key", [
    ('[links]\nx = "no_such_column"', "links.x"),
    ('[codes.work_status]\n"1" = "kantoor"', "codes.work_status.1"),
    ('[codes.bctq_sss_q]\nA9 = 9', "codes.bctq_sss_q.A9"),
    ('[codes.nonsense]\n"1" = 1', "codes.nonsense"),
    ('colour = "blue"', "colour"),
    ('[links', "TOML"),
])
def test_a_bad_mapping_file_names_the_key(text, key):
    with pytest.raises(MappingError) as error:
        parse_mapping(text)
    assert key in str(error.value)


def test_the_intake_columns_are_the_models_baseline_columns_with_the_same_rules():
    model_columns = {column.name: column for condition in schema.CONDITIONS
                     for column in schema.baseline_columns(condition)}
    assert set(intake.BY_NAME) == set(model_columns) - {"age"}  # age comes from the birth date
    for name, column in intake.BY_NAME.items():
        theirs = model_columns[name]
        assert (column.kind, column.levels, column.integer) == (theirs.kind, theirs.levels, theirs.integer), name
        if column.kind == "number":
            assert (column.low, column.high) == (theirs.low, theirs.high), name


# -- properties -------------------------------------------------------------------------------
@st.composite
def valid_response(draw):
    """Item answers in range for a few scales, each item present or not."""
    return [Answer(link_id, "integer", draw(st.integers(scale.low, scale.high)))
            for scale in intake.SCALES for link_id in scale.link_ids() if draw(st.booleans())]


@settings(max_examples=200, deadline=None)
@given(valid_response(), st.randoms(use_true_random=False))
def test_scoring_does_not_depend_on_the_order_of_the_answers(answers, random):
    shuffled = list(answers)
    random.shuffle(shuffled)
    assert score(shuffled).values == pytest.approx(score(answers).values)


@settings(max_examples=200, deadline=None)
@given(valid_response(), st.data())
def test_any_out_of_range_item_rejects_the_whole_response(answers, data):
    scale = data.draw(st.sampled_from(intake.SCALES))
    link_id = data.draw(st.sampled_from(scale.link_ids()))
    bad = data.draw(st.integers(max_value=scale.low - 1) | st.integers(min_value=scale.high + 1))
    answers = [answer for answer in answers if answer.link_id != link_id] + [Answer(link_id, "integer", bad)]
    with pytest.raises(IntakeRejected) as rejected:
        score(answers)
    assert [problem.link_id for problem in rejected.value.problems] == [link_id]


@settings(max_examples=200, deadline=None)
@given(valid_response())
def test_every_scored_value_lies_in_its_columns_range(answers):
    for name, value in score(answers).values.items():
        column = intake.BY_NAME[name]
        assert column.low <= value <= column.high
