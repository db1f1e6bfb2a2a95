"""A contract that is about to end is told to IT and the SUO in time, with what to update.

The rule is a pure function of the bundles and a date; the self-test, `validate-bundles`
and the window show it. Test bundles get contract ends relative to today, so these tests
mean the same in any month.
"""

import datetime as dt
import os
import subprocess
from dataclasses import replace

import pytest

from desktop.bundle_files import load_bundles
from desktop.core.bundles import CONTRACT_WARNING_DAYS, Contract, contract_ends
from helpers import CLI, bundles_with_contract_end

TODAY = dt.date(2026, 12, 1)
SHIPPED = load_bundles().bundles["hand-wrist"]


def with_contracts(*contracts, active=True):
    return replace(SHIPPED, contracts=tuple(contracts), active=active)


def contract(start, end, codes=("3311",)):
    return Contract("Zilveren Kruis", frozenset(codes), start, end)


# -- the rule -----------------------------------------------------------------------------------
@pytest.mark.parametrize("end, expected_days", [
    (TODAY + dt.timedelta(days=CONTRACT_WARNING_DAYS), CONTRACT_WARNING_DAYS),
    (TODAY + dt.timedelta(days=1), 1),
    (TODAY, 0),
    (TODAY - dt.timedelta(days=1), -1),
    (TODAY - dt.timedelta(days=400), -400),
])
def test_a_contract_ending_within_30_days_or_ended_is_found(end, expected_days):
    (found,) = contract_ends([with_contracts(contract(dt.date(2024, 1, 1), end))], TODAY)
    assert found.days_left == expected_days
    assert found.ended == (expected_days < 0)


def test_a_contract_ending_in_31_days_is_not_yet_a_warning():
    end = TODAY + dt.timedelta(days=CONTRACT_WARNING_DAYS + 1)
    assert contract_ends([with_contracts(contract(dt.date(2024, 1, 1), end))], TODAY) == []


def test_the_shipped_contract_warns_from_the_first_of_december_and_has_ended_in_january():
    assert contract_ends([SHIPPED], dt.date(2026, 11, 30)) == []
    (december,) = contract_ends([SHIPPED], TODAY)
    assert december.days_left == 30 and not december.ended
    (january,) = contract_ends([SHIPPED], dt.date(2027, 1, 1))
    assert january.ended


def test_a_renewal_already_in_the_file_needs_no_warning_but_a_partial_one_does():
    old = contract(dt.date(2024, 1, 1), dt.date(2026, 12, 31), ("3311", "3313"))
    renewed = contract(dt.date(2027, 1, 1), dt.date(2029, 12, 31), ("3311", "3313"))
    assert contract_ends([with_contracts(old, renewed)], TODAY) == []
    partial = contract(dt.date(2027, 1, 1), dt.date(2029, 12, 31), ("3311",))
    assert [end.contract for end in contract_ends([with_contracts(old, partial)], TODAY)] == [old]


def test_inactive_bundles_and_contracts_not_yet_started_are_left_alone():
    ending = contract(dt.date(2024, 1, 1), TODAY + dt.timedelta(days=3))
    assert contract_ends([with_contracts(ending, active=False)], TODAY) == []
    future = contract(TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=5))
    assert contract_ends([with_contracts(future)], TODAY) == []


def test_the_message_says_when_and_what_to_update():
    (soon,) = contract_ends([SHIPPED], TODAY)
    text = soon.message().get("nl")
    assert "eindigt op 2026-12-31 (over 30 dagen)" in text and "vanaf 2027-01-01" in text
    assert "UZOVI 3311" in text and "'end'" in text and "[[contracts]]" in text
    assert str(SHIPPED.source) in text and "import-bundles" in text
    (ended,) = contract_ends([SHIPPED], dt.date(2027, 1, 5))
    assert "is geëindigd op 2026-12-31" in ended.message().get("nl")
    english = soon.message().get("en")
    assert "ends on 2026-12-31 (in 30 days)" in english and "eindigt" not in english


# -- where IT sees it -------------------------------------------------------------------------
def run(*args):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, env=dict(os.environ))


def test_validate_bundles_warns_before_the_end_and_says_when_it_has_ended(tmp_path):
    soon = bundles_with_contract_end(tmp_path / "soon", dt.date.today() + dt.timedelta(days=10))
    result = run("--data-dir", tmp_path / "data", "--bundles-dir", soon, "validate-bundles")
    assert result.returncode == 0, result.stdout  # the files are valid: a warning, not a failure
    [line] = [line for line in result.stdout.splitlines() if line.startswith("LET OP")]
    assert "hand-wrist" in line and "over 10 dagen" in line and "hand-wrist.toml" in line

    ended = bundles_with_contract_end(tmp_path / "ended", dt.date.today() - dt.timedelta(days=1))
    result = run("--data-dir", tmp_path / "data", "--bundles-dir", ended, "validate-bundles")
    [line] = [line for line in result.stdout.splitlines() if line.startswith("VERLOPEN")]
    assert "is geëindigd op" in line and "Traceback" not in result.stderr

    later = bundles_with_contract_end(tmp_path / "later", dt.date.today() + dt.timedelta(days=200))
    result = run("--data-dir", tmp_path / "data", "--bundles-dir", later, "validate-bundles")
    assert "LET OP" not in result.stdout and "VERLOPEN" not in result.stdout


def test_self_test_warns_within_30_days_and_fails_once_the_contract_has_ended(tmp_path):
    soon = bundles_with_contract_end(tmp_path / "soon", dt.date.today() + dt.timedelta(days=5))
    result = run("self-test", "--no-window", "--data-dir", tmp_path / "data", "--bundles-dir", soon)
    [line] = [line for line in result.stdout.splitlines() if "Bundeldefinities:" in line]
    assert line.startswith("LET OP") and "over 5 dagen" in line and "[[contracts]]" in line

    ended = bundles_with_contract_end(tmp_path / "ended", dt.date.today() - dt.timedelta(days=3))
    result = run("self-test", "--no-window", "--data-dir", tmp_path / "data", "--bundles-dir", ended)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if "Bundeldefinities:" in line]
    assert line.startswith("FOUT") and "is geëindigd op" in line


def test_an_updated_bundle_from_the_server_silences_the_warning(tmp_path):
    """IT imports the renewed bundle at the central server; the device's copy of it counts."""
    soon = bundles_with_contract_end(tmp_path / "soon", dt.date.today() + dt.timedelta(days=5))
    data = tmp_path / "data"
    pulled = bundles_with_contract_end(tmp_path / "pulled", dt.date.today() + dt.timedelta(days=400))
    from sync.engine import SERVER_BUNDLES_FOLDER

    (data / SERVER_BUNDLES_FOLDER).mkdir(parents=True)
    (pulled / "hand-wrist.toml").rename(data / SERVER_BUNDLES_FOLDER / "hand-wrist.toml")
    result = run("--data-dir", data, "--bundles-dir", soon, "validate-bundles")
    assert "LET OP" not in result.stdout, result.stdout


# -- the window -------------------------------------------------------------------------------
@pytest.fixture
def services_ending_in(request, tmp_path):
    from desktop import config
    from desktop.operations.services import Services
    from desktop.store.inclusions import Actor

    bundles = bundles_with_contract_end(tmp_path / "bundles", dt.date.today() + dt.timedelta(days=request.param))
    settings = config.load(overrides={"data_dir": str(tmp_path / "data"), "bundles_dir": str(bundles)})
    services = Services(settings, Actor("suo.test", "suo"))
    yield services
    services.close()


@pytest.mark.parametrize("services_ending_in, shown", [(12, True), (200, False)], indirect=["services_ending_in"])
def test_the_window_shows_the_banner_only_while_a_contract_ends_soon(qtbot, services_ending_in, shown):
    pytest.importorskip("PySide6")
    from desktop.ui.main_window import MainWindow

    window = MainWindow(services_ending_in, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.notice_banner.isVisible() == shown
    if shown:
        text = window.notice_banner.text()
        ends = (dt.date.today() + dt.timedelta(days=12)).strftime("%d-%m-%Y")
        assert "over 12 dagen" in text and ends in text and "Zilveren Kruis" in text
        assert ".toml" not in text and "[[contracts]]" not in text  # the file to edit is IT's, in the self-test
    else:
        assert window.notice_banner.text() == ""


@pytest.mark.parametrize("services_ending_in", [12], indirect=True)
def test_the_english_window_tells_of_the_contract_end_in_english(qtbot, services_ending_in):
    pytest.importorskip("PySide6")
    from desktop.ui import i18n
    from desktop.ui.main_window import MainWindow

    window = MainWindow(services_ending_in, load_models=False, background_sync=False)
    qtbot.addWidget(window)
    window.show()
    try:
        window.set_language("en")  # as from the Language menu
        text = window.notice_banner.text()
    finally:
        i18n.set_language("nl")
    assert "ends on" in text and "in 12 days" in text and "Zilveren Kruis" in text
    for dutch in ("eindigt", "verzekeraar", "aanmerking", "contract met"):
        assert dutch not in text
