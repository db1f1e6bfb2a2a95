import datetime as dt
import shutil
import subprocess

import pytest

from desktop.bundle_files import default_bundles_dir, load_bundles
from helpers import CLI

SHIPPED = {"hand-wrist", "hip-fracture", "claudication", "colon-cancer", "stroke-chain", "stockholm-hip-knee"}


@pytest.fixture
def bundles_dir(tmp_path):
    folder = tmp_path / "bundles"
    shutil.copytree(default_bundles_dir(), folder)
    return folder


def test_all_shipped_bundles_load_and_only_hand_wrist_is_active():
    report = load_bundles()
    assert report.errors == {}
    assert set(report.bundles) == SHIPPED
    assert [b.id for b in report.active()] == ["hand-wrist"]


def test_hand_wrist_defaults_match_the_clinic_contract():
    bundle = load_bundles().bundles["hand-wrist"]
    assert bundle.contracted_uzovi == {"3311"}
    (contract,) = bundle.contracts
    assert (contract.start, contract.end) == (dt.date(2024, 1, 1), dt.date(2026, 12, 31))
    assert bundle.episode_days == 365
    assert bundle.episode_key == ("patient", "condition")
    assert [m.months for m in bundle.moments] == [0, 3, 6, 12]
    assert bundle.find_condition("G56.0").id == "CTS"
    for sub in range(10):
        assert bundle.find_condition(f"M18.{sub}").id == "CMC1_OA"
    assert bundle.find_condition("G56.1") is None
    assert bundle.find_condition("M19.0") is None
    age_rule = next(r for r in bundle.rules if r.kind == "age")
    assert age_rule.min_age == 18
    assert {r.kind for r in bundle.rules} == {"insurer", "contract_window", "diagnosis", "age", "active_episode"}
    assert bundle.explanation["nl"]["title"] and bundle.explanation["en"]["title"]


def test_example_bundles_carry_their_literature_rules():
    bundles = load_bundles().bundles
    hip = bundles["hip-fracture"]
    assert hip.any_insurer and hip.find_condition("S72.1") and not hip.find_condition("S72.3")
    assert next(r for r in hip.rules if r.kind == "age").min_age == 65
    assert [(r.fact, r.equals) for r in hip.fact_rules] == [("low_energy_trauma", True)]
    stockholm = bundles["stockholm-hip-knee"]
    assert [(r.fact, r.allowed) for r in stockholm.fact_rules] == [("asa_class", (1, 2))]
    assert stockholm.find_condition("M16.1") and stockholm.find_condition("M17.0")
    stroke = bundles["stroke-chain"]
    assert stroke.episode_days == 730 and stroke.find_condition("I63.4")
    assert [m.id for m in stroke.moments] == ["admission", "discharge", "m3", "m12", "m24"]
    colon = bundles["colon-cancer"]
    assert colon.find_condition("C18.7") and colon.find_condition("C20") is None
    assert bundles["claudication"].find_condition("I73.9")


def test_broken_file_is_reported_with_file_field_and_problem_and_the_rest_still_load(bundles_dir):
    text = (bundles_dir / "hip-fracture.toml").read_text(encoding="utf-8")
    (bundles_dir / "hip-fracture.toml").write_text(text.replace("min = 65", 'min = "65"'), encoding="utf-8")
    report = load_bundles(bundles_dir)
    assert set(report.bundles) == SHIPPED - {"hip-fracture"}
    (problems,) = [v for k, v in report.errors.items() if k.name == "hip-fracture.toml"]
    assert any("rules[1].min" in p and "geheel getal" in p for p in problems)


@pytest.mark.parametrize("mutation, expected", [
    (lambda t: t.replace('kind = "age"', 'kind = "postcode"'), "onbekende soort 'postcode'"),
    (lambda t: t.replace('uzovi = ["3311"]', 'uzovi = ["Zilveren Kruis"]'), "contracts[0].uzovi"),
    (lambda t: t.replace("end = 2026-12-31", "end = 2023-12-31"), "contracts[0].end"),
    (lambda t: t.replace('codes = ["G56.0"]', 'codes = ["carpaal"]'), "conditions[0].codes"),
    (lambda t: t.replace("episode_days = 365", "episode_days = 0"), "episode_days"),
    (lambda t: t.replace('id = "hand-wrist"', 'id = "hand"'), "bestandsnaam"),
    (lambda t: t.replace("[name]", "[naam]"), "veld 'name'"),
    (lambda t: t + "\n[[rules\n", "geen geldige TOML"),
])
def test_each_kind_of_mistake_gets_its_own_clear_message(bundles_dir, mutation, expected):
    path = bundles_dir / "hand-wrist.toml"
    path.write_text(mutation(path.read_text(encoding="utf-8")), encoding="utf-8")
    report = load_bundles(bundles_dir)
    assert "hand-wrist" not in report.bundles
    assert any(expected in p for p in report.errors[path]), report.errors[path]
    assert len(report.bundles) == len(SHIPPED) - 1


def test_fact_rule_without_what_it_needs_is_refused(bundles_dir):
    path = bundles_dir / "stockholm-hip-knee.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("allowed = [1, 2]\n", ""), encoding="utf-8")
    problems = load_bundles(bundles_dir).errors[path]
    assert any("allowed" in p for p in problems)


def test_binary_garbage_file_is_reported_not_crashing(bundles_dir):
    (bundles_dir / "garbage.toml").write_bytes(b"\xff\xfe\x00binary")
    report = load_bundles(bundles_dir)
    assert set(report.bundles) == SHIPPED
    assert report.errors[bundles_dir / "garbage.toml"]


def run_validate(bundles_dir):
    return subprocess.run([*CLI, "validate-bundles", "--bundles-dir", str(bundles_dir)],
                          capture_output=True, text=True, timeout=60)


def test_validate_bundles_command_lists_each_bundle_and_exits_zero_when_all_valid(bundles_dir):
    result = run_validate(bundles_dir)
    assert result.returncode == 0, result.stderr
    for bundle_id in SHIPPED:
        assert bundle_id in result.stdout
    assert "actief" in result.stdout


def test_validate_bundles_command_fails_and_names_the_broken_file(bundles_dir):
    (bundles_dir / "colon-cancer.toml").write_text('id = "colon-cancer"\nversion = 1\n', encoding="utf-8")
    result = run_validate(bundles_dir)
    assert result.returncode != 0
    assert "ONGELDIG colon-cancer.toml" in result.stdout
    assert "veld 'episode_days': ontbreekt" in result.stdout
    assert "OK       hand-wrist" in result.stdout
    assert "Traceback" not in result.stderr


def test_validate_bundles_on_a_missing_folder_fails_clearly(tmp_path):
    result = run_validate(tmp_path / "nope")
    assert result.returncode != 0
    assert "bestaat niet" in result.stdout
