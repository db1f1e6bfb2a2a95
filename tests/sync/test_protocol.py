"""The wire models: strict where it matters, one error per field, and a desktop registry
row converts to a valid record (the sync client pushes exactly that)."""

import datetime as dt
import json
import uuid

import pytest
from pydantic import ValidationError

from desktop import config
from desktop.core.inputs import parse_inclusion
from desktop.operations.services import Services
from desktop.store.inclusions import Actor
from helpers import inclusion, valid_bsns
from serverproc import record
from sync.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    CoverageLookupRequest,
    EnrollRequest,
    InclusionRecord,
    PushRequest,
    PushResult,
    protocol_headers,
    record_from_row,
)

BSN = valid_bsns(1, start=700000000)[0]


def errors(data) -> dict:
    with pytest.raises(ValidationError) as caught:
        InclusionRecord.model_validate(data)
    return {".".join(map(str, e["loc"])) or "record": e["type"] for e in caught.value.errors()}


def test_a_record_round_trips_through_json_with_utc_times():
    parsed = InclusionRecord.model_validate(record(BSN, updated_at="2025-03-14T10:30:00+01:00"))
    assert parsed.updated_at == dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
    again = InclusionRecord.model_validate_json(parsed.model_dump_json())
    assert again == parsed
    assert parsed.episode_key() == ("hand-wrist", BSN, "CTS", "")


def test_types_are_not_coerced_and_unknown_fields_are_refused():
    assert errors(record(BSN, revision="1")) == {"revision": "int_type"}
    assert errors(record(BSN, agreed=1)) == {"agreed": "bool_type"}
    assert errors(record(BSN, insurer_uzovi=3311)) == {"insurer_uzovi": "string_type"}
    assert errors(dict(record(BSN), bsn=int(BSN))) == {"bsn": "string_type"}
    assert errors(dict(record(BSN), extra="x")) == {"extra": "extra_forbidden"}
    assert errors(record(BSN, revision=0)) == {"revision": "greater_than_equal"}


def test_bsn_dates_and_codes_are_validated():
    assert errors(record("123456789")) == {"bsn": "value_error"}
    assert errors(record("12345678")) == {"bsn": "string_too_short"}
    assert errors(record(BSN, birth_date="02-06-1971")) == {"birth_date": "value_error"}
    assert errors(record(BSN, inclusion_date="2025-02-30")) == {"inclusion_date": "value_error"}
    assert errors(record(BSN, clinician_agb="1234")) == {"clinician_agb": "string_pattern_mismatch"}
    assert errors(record(BSN, state="withdrawn")) == {"record": "value_error"}  # without withdrawn_at
    assert errors(record(BSN, side="links")) == {"side": "literal_error"}  # the device stores L, R or both
    assert InclusionRecord.model_validate(record(BSN, side="both")).side == "both"
    assert errors(record(BSN, created_at="gisteren")) == {"created_at": "value_error"}


def test_the_push_envelope_allows_at_most_500_records():
    with pytest.raises(ValidationError):
        PushRequest.model_validate({"records": [record(BSN)] * 501})
    assert len(PushRequest.model_validate({"records": [record(BSN)] * 500}).records) == 500


def test_other_requests_and_headers():
    assert protocol_headers("t") == {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Accept": "application/json",
                                     "Authorization": "Bearer t"}
    lookup = CoverageLookupRequest.model_validate({"bsn": BSN, "birth_date": "1971-06-02", "on": "2025-01-01"})
    assert (lookup.on, lookup.birth_date) == (dt.date(2025, 1, 1), dt.date(1971, 6, 2))
    with pytest.raises(ValidationError, match="birth_date"):  # protocol 2: no lookup by BSN alone
        CoverageLookupRequest.model_validate({"bsn": BSN, "on": "2025-01-01"})
    with pytest.raises(ValidationError):
        EnrollRequest.model_validate({"code": "x", "device_name": "", "location": None})
    result = PushResult.model_validate({"id": str(uuid.uuid4()), "revision": 1, "result": "accepted",
                                        "duplicate_of": None, "reason": None, "added_later": 1})
    assert result.result == "accepted"  # responses tolerate fields a newer server adds


def test_a_desktop_registry_row_becomes_a_valid_wire_record(tmp_path):
    settings = config.load(overrides={"data_dir": str(tmp_path / "data")})
    services = Services(settings, Actor("a.suo", "suo"))
    try:
        saved = services.register(parse_inclusion(inclusion(BSN), services.bundles))
        row = services.registry.inclusions("id = ?", [saved["id"]])[0]
    finally:
        services.close()
    wire = InclusionRecord.model_validate(record_from_row(row))
    assert str(wire.id) == row["id"] and wire.bsn == BSN and wire.agreed is True
    assert wire.eligibility_rules == json.loads(row["eligibility_rules"])
    assert wire.end_date == dt.date(2026, 3, 13)
