import datetime as dt
import multiprocessing

import pytest

from desktop import config
from desktop.core.eligibility import NOT_ELIGIBLE
from desktop.core.inputs import InputError, parse_inclusion
from desktop.operations.services import Services
from desktop.store import DatabaseError
from desktop.store.inclusions import Actor, InvalidChange, NotEligible, Registry
from desktop.store.migrations import MIGRATIONS
from helpers import inclusion, open_register, valid_bsns

BSN, OTHER = valid_bsns(2)
NEN7513_FIELDS = {"at", "user", "role", "acted_for", "patient_bsn", "action", "device_id", "system"}


def register(services, **changes):
    request = parse_inclusion(inclusion(changes.pop("bsn", BSN), **changes), services.bundles)
    return services.register(request)


def test_registered_inclusion_is_visible_to_a_fresh_connection_with_history_outbox_and_audit(services, tmp_path):
    record = register(services)
    other = open_register(tmp_path / "data" / "bundelassistent.sqlite3")
    state, end_date = other.execute("SELECT state, end_date FROM inclusions WHERE id = ?", [record["id"]]).fetchone()
    assert state == "registered"
    assert end_date == "2026-03-13"  # 365 days: 2025-03-14 up to and including 2026-03-13
    assert other.execute("SELECT count(*) FROM outbox WHERE inclusion_id = ?", [record["id"]]).fetchone()[0] == 1
    history = services.registry.history(record["id"])
    assert [h["action"] for h in history] == ["register"]
    (entry,) = [a for a in services.registry.audit_entries() if a["action"] == "create"]
    assert set(entry) >= NEN7513_FIELDS
    assert (entry["user"], entry["role"], entry["patient_bsn"]) == ("a.suo", "suo", BSN)
    assert entry["device_id"] == services.registry.device_id and entry["system"] == "Bundelassistent"


def test_registration_stores_the_rule_outcomes_as_evaluated(services):
    record = register(services)
    import json
    rules = json.loads(record["eligibility_rules"])
    assert {r["kind"] for r in rules} == {"insurer", "contract_window", "diagnosis", "age", "active_episode"}
    assert all(r["outcome"] == "pass" for r in rules)


def test_second_inclusion_for_the_same_episode_is_refused_and_nothing_is_written(services):
    register(services)
    before = services.registry.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(NotEligible) as refused:
        register(services, side="L", inclusion_date="2025-09-01")
    assert refused.value.decision.status == NOT_ELIGIBLE
    assert refused.value.decision.failed_rules == ["active_episode"]
    assert len(services.registry.inclusions()) == 1
    assert services.registry.pending_count() == 1
    assert services.registry.db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before


def test_other_condition_and_other_patient_are_separate_episodes(services):
    register(services)
    register(services, diagnosis="M18.1")
    register(services, bsn=OTHER)
    assert len(services.registry.inclusions()) == 3


def test_withdrawn_inclusion_keeps_its_history_and_no_longer_blocks(services):
    first = register(services)
    withdrawn = services.registry.withdraw(first["id"], "patiënt ziet af van deelname")
    assert (withdrawn["state"], withdrawn["revision"]) == ("withdrawn", 2)
    again = register(services, inclusion_date="2025-04-01")
    assert again["id"] != first["id"]
    assert [h["action"] for h in services.registry.history(first["id"])] == ["register", "withdraw"]
    assert services.registry.db.execute(
        "SELECT count(*) FROM outbox WHERE inclusion_id = ?", [first["id"]]).fetchone()[0] == 2
    with pytest.raises(InvalidChange, match="al ingetrokken"):
        services.registry.withdraw(first["id"], "nogmaals")
    with pytest.raises(InvalidChange, match="reden"):
        services.registry.withdraw(again["id"], "  ")


def test_correction_adds_a_revision_and_refuses_fields_that_decide_eligibility(services):
    record = register(services)
    corrected = services.registry.correct(record["id"], {"side": "L", "location": "Eindhoven"}, "verkeerde hand")
    assert (corrected["side"], corrected["location"], corrected["revision"]) == ("L", "Eindhoven", 2)
    history = services.registry.history(record["id"])
    assert [h["action"] for h in history] == ["register", "correct"]
    assert '"side": "R"' in history[0]["record"]  # the old value is kept
    with pytest.raises(InvalidChange, match=r"^Inclusiedatum kan niet gecorrigeerd worden"):  # its label
        services.registry.correct(record["id"], {"inclusion_date": "2025-01-01"}, "datum")


def test_a_correction_keeps_to_the_record_contract(services):
    record = register(services)
    corrected = services.registry.correct(record["id"], {"side": "links", "location": " Zeist "}, "andere hand")
    assert (corrected["side"], corrected["location"]) == ("L", "Zeist")  # as the server takes them
    for changes, label in (({"side": "x"}, "Zijde"), ({"clinician_agb": None}, r"Behandelaar \(AGB\)"),
                           ({"name": "J.\x00Jansen"}, "Naam"), ({"location": "u" * 201}, "Locatie"),
                           ({"initial_treatment": "afwachten"}, "Eerste behandeling")):
        with pytest.raises(InvalidChange, match=f"^{label}: "):
            services.registry.correct(record["id"], changes, "typfout")
    assert services.registry.history(record["id"])[-1]["revision"] == 2  # nothing half-saved


def test_a_withdrawal_reason_must_fit_the_record(services):
    record = register(services)
    for reason in ("r" * 2001, "reden\x00", "\ud800"):
        with pytest.raises(InvalidChange, match=r"^Reden van intrekken: "):
            services.registry.withdraw(record["id"], reason)
    assert services.registry.withdraw(record["id"], "r" * 2000)["state"] == "withdrawn"


@pytest.mark.parametrize("changes, field", [
    ({"name": "J.\x00Jansen"}, "name"), ({"explained_by": "\udfff"}, "explained_by"),
    ({"explained_at": "gisteren"}, "explained_at"),
    ({"insurer_checked_at": "2025-02-30T10:00:00"}, "insurer_checked_at"),
    ({"location": "u" * 201}, "location"), ({"insurer_uzovi": None}, "insurer_uzovi"),
])
def test_the_input_parser_refuses_what_the_server_would(services, changes, field):
    with pytest.raises(InputError) as refused:
        register(services, **changes)
    assert [problem.field for problem in refused.value.problems] == [field]
    assert services.registry.inclusions() == []


def test_audit_log_and_inclusions_cannot_be_altered_or_deleted(services):
    record = register(services)
    db = services.registry.db
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute("UPDATE audit_log SET user = 'someone else'")
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    with pytest.raises(DatabaseError, match="never deleted"):
        db.execute("DELETE FROM inclusions WHERE id = ?", [record["id"]])


def test_viewing_a_record_is_audited(services):
    record = register(services)
    services.registry.get(record["id"])
    assert [a["action"] for a in services.registry.audit_entries()][-1] == "read"


def test_database_is_migrated_once_and_keeps_its_device_id(tmp_path):
    with Registry.in_folder(tmp_path) as first:
        device = first.device_id
        assert first.schema_version == len(MIGRATIONS)
        assert first.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert first.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with Registry.in_folder(tmp_path) as second:
        assert second.device_id == device
        assert second.integrity_ok()


def _register_in_process(data_dir, bsn, barrier, results):
    settings = config.load(overrides={"data_dir": data_dir})
    services = Services(settings, Actor("room", "suo"))
    request = parse_inclusion(inclusion(bsn), services.bundles)
    barrier.wait()
    try:
        results.put(services.register(request)["id"])
    except NotEligible:
        results.put("refused")
    finally:
        services.close()


def test_two_rooms_registering_the_same_episode_at_once_give_exactly_one_inclusion(tmp_path):
    context = multiprocessing.get_context("spawn")
    Registry.in_folder(tmp_path).close()  # create the schema first
    for attempt in range(3):
        bsn = valid_bsns(1, start=200000000 + attempt * 1000)[0]
        barrier, results = context.Barrier(4), context.Queue()
        workers = [context.Process(target=_register_in_process, args=(str(tmp_path), bsn, barrier, results))
                   for _ in range(4)]
        for worker in workers:
            worker.start()
        outcomes = sorted(results.get(timeout=60) for _ in workers)
        for worker in workers:
            worker.join(timeout=30)
        assert outcomes.count("refused") == 3, outcomes
    with Registry.in_folder(tmp_path) as registry:
        assert len(registry.inclusions()) == 3


def test_registration_date_in_the_future_is_refused_before_anything_is_saved(services):
    from desktop.core.inputs import InputError

    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(InputError, match="toekomst"):
        register(services, inclusion_date=tomorrow)
    assert services.registry.inclusions() == []


def test_a_request_without_birth_date_is_refused_by_the_register_itself_before_anything_is_saved(services):
    """parse_inclusion already asks for it; the register does not lean on that (the record needs it)."""
    import dataclasses

    from desktop.core.eligibility import evaluate

    request = parse_inclusion(inclusion(BSN), services.bundles)
    request = dataclasses.replace(request, case=dataclasses.replace(request.case, birth_date=None))
    audit_rows = len(services.registry.audit_entries())
    with pytest.raises(InvalidChange, match=r"^Geboortedatum: ontbreekt"):
        services.registry.register(request, lambda episodes: evaluate(request.case, request.bundle, episodes))
    assert services.registry.inclusions() == []
    assert services.registry.pending_count() == 0
    assert len(services.registry.audit_entries()) == audit_rows
