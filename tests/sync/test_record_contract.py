"""One record contract: the server accepts exactly the records the device accepts.

Hypothesis generates inclusion inputs with the values where the two sides used to
disagree (side `both`, texts at and over their limits, NUL and lone surrogates, time
stamps in and out of ISO 8601, withdrawal reasons, choices, identifiers, dates). Each
input goes through the device's own path: the input parser, a registration in a real
SQLite registry, a withdrawal, and the record the sync engine would push. The server
judges that record (or, when the device refused, the record a hostile device would send
with the same values) with its real push path: in-process for many examples, and over
HTTP against a real server process for a bounded number.

Two deliberate differences are kept out of the generated values: an inclusion date of
exactly tomorrow (the server allows a day of clock slack) and values the device first
normalises (' G56.0 ', 'links', '14-03-2025'): for those the device sends its own form.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from desktop.bundle_files import default_bundles_dir, load_bundles
from desktop.core.bundles import parse_bundle_toml
from desktop.core.eligibility import evaluate
from desktop.core.inputs import InputError, parse_inclusion
from desktop.store.inclusions import Actor, InvalidChange, NotEligible, Registry, utc_now
from desktop.store.migrations import MIGRATIONS
from helpers import valid_bsns
from serverproc import record as raw_record
from sync.engine import wire_record
from sync.protocol import InclusionRecord
from sync.server import push_body, rechecks

REPORT = load_bundles()
SERVER_BUNDLES = {(b.id, b.version): parse_bundle_toml(b.source.read_text(encoding="utf-8"), b.source)
                  for b in REPORT.bundles.values()}
assert SERVER_BUNDLES and all(path.parent == default_bundles_dir() for path in
                              (b.source for b in REPORT.bundles.values()))
TODAY = dt.date.today()
# answers that pass every fact rule: facts are not on the wire, so the server cannot judge them
PASSING_FACTS = {"hip-fracture": {"low_energy_trauma": True}, "stockholm-hip-knee": {"asa_class": 1},
                 "claudication": {"critical_limb_ischemia": False, "ankle_brachial_index": 0.8}}
UNIQUE_BSNS = itertools.cycle(valid_bsns(5000, start=240000000))

ODD_CHARACTERS = st.sampled_from(["\x00", "\ud800", "\udfff", "é", "ß", "😀", "\t", "\u200b", "'", ";"])
PLAIN_TEXT = st.text(st.one_of(st.characters(min_codepoint=32, max_codepoint=0x24F), ODD_CHARACTERS), max_size=12)


def around(limit: int):
    """Text a little under, at or over a length limit (with an odd character now and then)."""
    return st.tuples(st.integers(limit - 2, limit + 2), st.sampled_from(["a", "é", "😀", "\x00"])).map(
        lambda pair: "x" * (pair[0] - 1) + pair[1])


def text_field(limit: int = 200):
    return st.one_of(st.none(), PLAIN_TEXT, around(limit)).filter(
        lambda text: text is None or text == text.strip())


def a_date(low: dt.date, high: dt.date):
    return st.integers(low.toordinal(), high.toordinal()).map(lambda n: dt.date.fromordinal(n).isoformat())


TIMESTAMPS = st.one_of(st.none(), st.sampled_from([
    "2025-03-14T09:30:00Z", "2025-03-14T09:30:00.123+01:00", "2025-03-14 09:30", "2025-03-14T09:30:00+0100",
    "gisteren", "14-03-2025 09:30", "2025-02-30T10:00:00", "2025-03-14T25:00:00", "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59-01:00", "2025-03-14T09:30:00.1234567Z", "", "2025-03-14"]))
INCLUSION_DATES = st.one_of(a_date(dt.date(2023, 6, 1), TODAY),
                            a_date(TODAY + dt.timedelta(days=2), TODAY + dt.timedelta(days=30)))


DIAGNOSIS_IN = {"hand-wrist": "G56.0", "hip-fracture": "S72.0", "stockholm-hip-knee": "M16",
                "claudication": "I73.9", "colon-cancer": "C18.2", "stroke-chain": "I63.9"}
assert set(DIAGNOSIS_IN) == set(REPORT.bundles), "a new shipped bundle needs a diagnosis here"

# Digits of other scripts, which int() and regex \\d read as numbers: full-width and
# mathematical digits (NFKC makes them 0-9), Arabic-Indic, Devanagari and Bengali (it does not)
OTHER_ZEROS = st.sampled_from([0xFF10, 0x1D7CE, 0x660, 0x966, 0x9E6])


def in_other_digits(digits: str):
    return OTHER_ZEROS.map(lambda zero: "".join(chr(zero + int(c)) for c in digits))


# For each field: values at and beyond the edges of the contract, valid ones among them.
EDGES = {
    "bundle": st.sampled_from(["knie-2030", "hand-wrist"]),
    "inclusion_date": INCLUSION_DATES,
    "birth_date": st.one_of(a_date(dt.date(1890, 1, 1), dt.date(2012, 1, 1)),
                            st.sampled_from(["0001-01-01", "2030-01-01"])),
    "diagnosis": st.sampled_from(["G56.0", "M18.1", "M18.9", "M16", "M17.1", "S72.0", "X", "G56"]),
    "side": st.sampled_from(["L", "R", "both", None, "x", "links en rechts"]),
    "insurer_uzovi": st.one_of(st.sampled_from(["3311", "0000", "3343", "33a1", None]), in_other_digits("3311")),
    "bsn": st.one_of(st.sampled_from(["123456789", "12345678"]),
                     st.builds(lambda: next(UNIQUE_BSNS)).flatmap(in_other_digits)),
    "name": text_field(),
    "clinician_agb": st.one_of(st.sampled_from(["1234", None, "012345678"]), in_other_digits("01234567")),
    "location": text_field(),
    "explained_by": text_field(),
    "agreed": st.sampled_from([False, None, "ja"]),
    "explanation_language": st.sampled_from(["en", None, "de"]),
    "explained_at": TIMESTAMPS,
    "insurer_checked_at": TIMESTAMPS,
    "handout_printed": st.sampled_from([True, None]),
    "initial_treatment": st.sampled_from([None, "conservative", "surgery", "wait and see"]),
    "insurer_source": st.sampled_from(["server", "card", None, "telefoon"]),
}
WITHDRAWALS = st.one_of(PLAIN_TEXT, around(2000), st.just("   ")).filter(
    lambda text: not text.strip() or text == text.strip())


@st.composite
def inclusion_inputs(draw):
    """An inclusion as a form, file or EHR hands it to the device (a valid one with up to
    three fields at their edges), and maybe a withdrawal reason."""
    bundle = draw(st.sampled_from(sorted(REPORT.bundles)))
    data = {
        "bundle": bundle, "inclusion_date": "2025-03-14", "birth_date": "1948-02-10",
        "diagnosis": DIAGNOSIS_IN[bundle], "side": "R", "insurer_uzovi": "3311", "facts": PASSING_FACTS.get(bundle, {}),
        "bsn": next(UNIQUE_BSNS), "name": "J. Jansen", "clinician_agb": "01234567", "location": "Utrecht",
        "explained_by": "SUO Bakker", "agreed": True, "explanation_language": "nl", "explained_at": None,
        "insurer_checked_at": None, "handout_printed": False, "initial_treatment": None, "insurer_source": None,
    }
    for key in draw(st.lists(st.sampled_from(sorted(EDGES)), max_size=3, unique=True)):
        data[key] = draw(EDGES[key])
    return data, draw(st.one_of(st.none(), st.none(), WITHDRAWALS))


def device_record(registry: Registry, data: dict, withdrawal: str | None) -> dict | None:
    """The record this device would push, or None when the device refuses the input."""
    try:
        request = parse_inclusion(data, REPORT, today=TODAY)
        saved = registry.register(request, lambda episodes: evaluate(request.case, request.bundle, episodes))
        if withdrawal is not None:
            saved = registry.withdraw(saved["id"], withdrawal)
    except (InputError, NotEligible, InvalidChange):
        return None
    return wire_record(saved, REPORT.bundles)


def hostile_record(data: dict, withdrawal: str | None) -> dict:
    """The same values as a device that skips every check would push them."""
    bundle = REPORT.bundles.get(data["bundle"])
    condition = bundle.condition_for_code(data["diagnosis"]) if bundle else None
    start = dt.date.fromisoformat(data["inclusion_date"])
    side = data["side"]
    now = utc_now()
    record = raw_record(
        data["bsn"], bundle=data["bundle"], bundle_version=bundle.version if bundle else "1",
        condition=condition.id if condition else "ONBEKEND", diagnosis=data["diagnosis"], side=side,
        episode_side=side if bundle and "side" in bundle.episode_key else None,
        birth_date=data["birth_date"], inclusion_date=data["inclusion_date"],
        end_date=(bundle.end_date(start) if bundle else start + dt.timedelta(days=364)).isoformat(),
        name=data["name"] or None, insurer_uzovi=data["insurer_uzovi"], clinician_agb=data["clinician_agb"],
        location=data["location"], explained_by=data["explained_by"], agreed=data["agreed"],
        explanation_language=data["explanation_language"] or "nl", explained_at=data["explained_at"] or now,
        insurer_checked_at=data["insurer_checked_at"] or now, handout_printed=data["handout_printed"],
        initial_treatment=data["initial_treatment"], insurer_source=data["insurer_source"] or "manual")
    if withdrawal is not None:
        record.update(revision=2, state="withdrawn", withdrawn_at=now, withdrawal_reason=withdrawal)
    return record


def server_accepts_in_process(record: dict) -> bool:
    """The server's push path without the database: its parser, then its re-check."""
    (parsed,) = push_body.parse_records([record])
    if not isinstance(parsed, InclusionRecord):
        return False
    bundle = SERVER_BUNDLES.get((parsed.bundle, parsed.bundle_version))
    return not rechecks.failures(parsed, bundle, dt.datetime.now(dt.UTC))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    registry = Registry(tmp_path_factory.mktemp("device") / "bundelassistent.sqlite3", Actor("suo.test", "suo"))
    yield registry
    registry.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(inclusion_inputs())
def test_the_server_accepts_exactly_what_the_device_accepts(registry, example):
    data, withdrawal = example
    pushed = device_record(registry, data, withdrawal)
    event("device accepted" if pushed is not None else "device refused")
    if pushed is not None:
        assert server_accepts_in_process(pushed), ("device accepted, server refused", data, withdrawal)
    else:
        assert not server_accepts_in_process(hostile_record(data, withdrawal)), (
            "device refused, server accepted", data, withdrawal)


def test_the_generator_reaches_both_verdicts_and_the_old_mismatches(registry):
    """The property above means something only if both sides of it are exercised."""
    base = {"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",
            "diagnosis": "G56.0", "side": "both", "insurer_uzovi": "3311", "facts": {}, "name": "J. Jansen",
            "clinician_agb": "01234567", "location": "Utrecht", "explained_by": "SUO Bakker", "agreed": True,
            "explanation_language": "nl", "explained_at": None, "insurer_checked_at": None,
            "handout_printed": False, "initial_treatment": None, "insurer_source": None}
    both = device_record(registry, dict(base, bsn=next(UNIQUE_BSNS)), None)
    assert both is not None and both["side"] == "both" and server_accepts_in_process(both)
    arabic_indic_bsn = "".join(chr(0x660 + int(c)) for c in next(UNIQUE_BSNS))
    for changes, withdrawal in (({"name": "J.\x00Jansen"}, None), ({"explained_at": "gisteren"}, None),
                                ({"name": "\ud800"}, None), ({}, "r" * 2001), ({"insurer_uzovi": "٣٣١١"}, None)):
        data = dict(base, bsn=next(UNIQUE_BSNS), **changes)
        assert device_record(registry, data, withdrawal) is None, changes
        assert not server_accepts_in_process(hostile_record(data, withdrawal)), changes
    long_reason = device_record(registry, dict(base, bsn=next(UNIQUE_BSNS)), "r" * 2000)
    assert long_reason is not None and server_accepts_in_process(long_reason)
    # other scripts' digits pass the 11-proef through int(); the server takes only 0-9
    assert device_record(registry, dict(base, bsn=arabic_indic_bsn), None) is None
    assert not server_accepts_in_process(hostile_record(dict(base, bsn=arabic_indic_bsn), None))
    plain = next(UNIQUE_BSNS)
    full_width = device_record(registry, dict(base, bsn="".join(chr(0xFF10 + int(c)) for c in plain)), None)
    assert full_width is not None and full_width["bsn"] == plain  # typed full-width: stored as plain digits
    assert not server_accepts_in_process(hostile_record(dict(base, bsn=full_width["bsn"].translate(
        {ord(str(n)): 0xFF10 + n for n in range(10)})), None))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(example=inclusion_inputs())
def test_a_real_server_process_accepts_exactly_what_the_device_accepts(sqlite_server_device, registry, example):
    data, withdrawal = example
    pushed = device_record(registry, data, withdrawal)
    record = pushed if pushed is not None else hostile_record(data, withdrawal)
    record["id"] = str(uuid.uuid4())  # the server has never seen it: no earlier revision decides
    record["device_id"] = sqlite_server_device.device_id  # pushed under its enrolled id, as the sync engine does
    (answer,) = sqlite_server_device.push_ok([record])
    expected = "accepted" if pushed is not None else "rejected"
    assert answer["result"] == expected, (answer, data, withdrawal)


@pytest.fixture(scope="module")
def sqlite_server_device(tmp_path_factory):
    from serverproc import ServerProcess

    folder = tmp_path_factory.mktemp("server")
    server = ServerProcess(f"sqlite:///{folder / 'server.sqlite3'}", folder, "sqlite").start()
    try:
        yield server.enroll("kamer")
    finally:
        server.stop()


# -- after the upgrade ----------------------------------------------------------------------
OLD_SERVER_SIDE_REFUSAL = "record 1: side: onbekende waarde; toegestaan is 'L' of 'R'"
OLD_SERVER_CONTENT_REFUSAL = ("revisie 1 van deze inclusie is al ontvangen met een andere inhoud; een wijziging "
                              "moet een hogere revisie krijgen")


def test_records_an_older_server_refused_on_the_contract_are_sent_again_and_accepted(tmp_path, server):
    from desktop import config
    from desktop.operations.services import Services
    from desktop.store import outbox
    from helpers import inclusion

    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "location": "Utrecht"})
    services = Services(settings, Actor("suo.test", "suo"))
    both, other = valid_bsns(2, start=250_000_000)
    services.register(parse_inclusion(inclusion(both, side="both"), services.bundles))
    services.register(parse_inclusion(inclusion(other), services.bundles))
    # what the previous version's server answered, stored by the previous version's device
    batch = outbox.next_batch(services.registry, 10)
    first, second = (record["id"] for record in batch.records)
    outbox.apply_answers(services.registry, batch, {
        first: outbox.ServerAnswer("rejected", reason=OLD_SERVER_SIDE_REFUSAL),
        second: outbox.ServerAnswer("rejected", reason=OLD_SERVER_CONTENT_REFUSAL)}, server="oude server",
        unanswered="geen antwoord")
    services.registry.db.execute("PRAGMA user_version = 4")
    assert services.registry.pending_count() == 0
    services.close()

    services = Services(settings, Actor("suo.test", "suo"))  # the upgraded app opens the same file
    registry = services.registry
    assert registry.schema_version == len(MIGRATIONS)  # brought to the newest version
    assert registry.audit_chain_problems() == []  # the migration's audit rows are part of the chain
    states = {row["bsn"]: (row["state"], row["server_message"]) for row in registry.inclusions()}
    assert states[both] == ("registered", None)
    assert states[other] == ("rejected", OLD_SERVER_CONTENT_REFUSAL)  # not a contract mismatch: stays
    assert registry.pending_count() == 1
    requeued = [e for e in registry.audit_entries() if e["action"] == "sync_requeue"]
    assert [e["patient_bsn"] for e in requeued] == [both]

    services.enroll(server.url, server.enroll_code())
    summary = services.sync_once()
    assert summary.results == {"accepted": 1} and summary.pending == 0, summary.text()
    (synced,) = registry.inclusions("bsn = ?", [both])
    assert synced["state"] == "synced" and synced["side"] == "both"
    (row,) = server.export_rows()
    assert (row["inclusion_id"], row["side"]) == (synced["id"], "both")
    services.close()
