"""The named states' values are the strings already at rest and on the wire.

Registers on devices, the server's databases and devices of protocol 2 hold these exact
strings, so they are pinned here as that contract (renaming one needs a migration and a
new protocol version) and checked against what the register really writes, the
protocol's JSON Schema, the server tables' declared values and the predictors' option
names. The server's stored values are checked on both databases in
`tests/sync/test_server_states.py`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.core import messages
from desktop.core.inputs import parse_inclusion
from desktop.core.states import (
    InputSource,
    InsurerSource,
    IntakeSource,
    OutboxState,
    RecordState,
    ServerResult,
    Side,
    TreatmentOption,
)
from desktop.store import outbox
from desktop.ui import state_words
from helpers import inclusion, open_register, valid_bsns
from sync import protocol as p

(BSN,) = valid_bsns(1, start=300000000)

CONTRACT = {
    RecordState: {"registered", "synced", "duplicate", "rejected", "withdrawn"},
    ServerResult: {"accepted", "unchanged", "duplicate", "rejected"},
    OutboxState: {"pending", "sending", "done"},
    InsurerSource: {"server", "cache", "card", "manual", "import"},
    IntakeSource: {"server", "cache", "none"},
    InputSource: {"questionnaire", "entered", "estimated"},
    Side: {"L", "R", "both"},
    TreatmentOption: {"conservative", "surgery"},
}
ON_THE_WIRE = {"registered", "withdrawn"}  # a record's state in protocol 2 and in the server's tables


@pytest.mark.parametrize("states", CONTRACT, ids=lambda states: states.__name__)
def test_each_named_state_keeps_the_value_stored_and_sent_today(states):
    assert {state.value for state in states} == CONTRACT[states]
    assert all(state == state.value and isinstance(state, str) for state in states)  # stored as plain text


def _enum(schema: dict, field: str) -> set[str]:
    definition = schema["properties"][field]
    options = definition.get("anyOf", [definition])  # optional fields: [{"enum": …}, {"type": "null"}]
    return {value for option in options for value in option.get("enum", [])}


def test_the_protocol_schema_offers_exactly_these_values():
    record, summary = p.InclusionRecord.model_json_schema(), p.InclusionSummary.model_json_schema()
    assert _enum(record, "state") == _enum(summary, "state") == ON_THE_WIRE
    assert _enum(record, "side") == _enum(record, "episode_side") == _enum(summary, "episode_side") == CONTRACT[Side]
    assert _enum(record, "insurer_source") == CONTRACT[InsurerSource]
    assert _enum(record, "initial_treatment") == CONTRACT[TreatmentOption]
    assert _enum(p.PushResult.model_json_schema(), "result") == CONTRACT[ServerResult]
    assert {p.RESULT_ACCEPTED, p.RESULT_UNCHANGED, p.RESULT_DUPLICATE, p.RESULT_REJECTED} == CONTRACT[ServerResult]


def test_the_server_tables_declare_the_same_values():
    """`sync/server/tables.py` lists each state column's values next to it (in the inclusions table;
    other tables have columns of the same name with their own values)."""
    source = (Path(p.__file__).parent / "server" / "tables.py").read_text(encoding="utf-8")
    inclusions = source[source.index("inclusions = Table("):source.index("inclusion_revisions = Table(")]
    declared = {}
    for match in re.finditer(r'Column\("(\w+)".*#\s*([\w ]+(?:\|[\w ]+)+)', inclusions):
        declared[match.group(1)] = {value.strip() for value in match.group(2).split("|")}
    assert declared["state"] == ON_THE_WIRE
    assert declared["status"] == {ServerResult.ACCEPTED, ServerResult.DUPLICATE}
    assert declared["side"] == CONTRACT[Side]
    assert {value.split(",")[0] for value in declared["episode_side"]} == CONTRACT[Side]
    assert declared["insurer_source"] == CONTRACT[InsurerSource]
    assert declared["initial_treatment"] == CONTRACT[TreatmentOption]


def test_treatment_options_are_the_prediction_models_options():
    from predictors.schema import OPTIONS

    assert set(OPTIONS) == CONTRACT[TreatmentOption]


def test_the_register_writes_these_values_as_plain_text(services, tmp_path):
    request = parse_inclusion(inclusion(BSN, side="links", insurer_source="card"), services.bundles)
    record = services.register(request)
    raw = open_register(tmp_path / "data" / "bundelassistent.sqlite3")

    def row():
        return raw.execute("SELECT i.state, i.side, i.insurer_source, i.server_result, o.state, typeof(i.state) "
                           "FROM inclusions i JOIN outbox o ON o.inclusion_id = i.id AND o.revision = i.revision "
                           "WHERE i.id = ?", [record["id"]]).fetchone()

    assert row() == ("registered", "L", "card", None, "pending", "text")
    batch = outbox.next_batch(services.registry, 10)
    outbox.mark_sending(services.registry, batch)
    assert row()[4] == "sending"
    outbox.apply_answers(services.registry, batch, {record["id"]: outbox.ServerAnswer(ServerResult.ACCEPTED)},
                         "https://server.test", "geen antwoord")
    assert row()[:5] == ("synced", "L", "card", "accepted", "done")
    assert outbox.wire_state(services.registry.get(record["id"])) == "registered"
    services.registry.withdraw(record["id"], "patiënt ziet af van de bundel")
    assert row()[:5] == ("withdrawn", "L", "card", "accepted", "pending")
    assert services.registry.state_of(record["id"]) is RecordState.WITHDRAWN


@pytest.mark.parametrize("states", state_words.TABLES, ids=lambda states: states.__name__)
def test_the_window_has_a_word_for_every_state_in_both_languages(states):
    words = state_words.TABLES[states]
    assert set(words) == set(states)
    dutch, english = messages.catalogue("nl"), messages.catalogue("en")
    assert all(key.startswith("window.") and dutch[key] != english[key] for key in words.values())

