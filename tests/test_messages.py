"""The message catalogue: both languages say the same things, and the code asks only for what exists."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.core import messages
from desktop.core.bundles import Text

ROOT = Path(__file__).resolve().parent.parent
CODE = [path for folder in ("desktop", "sync") for path in (ROOT / folder).rglob("*.py")]
# A key asked for in the code: msg("a.b"), text("a.b", …), t("a.b"), or a key literal in a table ("a.b.c").
KEY = re.compile(r"""["']((?:core|operations|window|frame|cli)(?:\.[a-z0-9_]+)+)["']""")


def referenced_keys() -> dict[str, str]:
    found = {}
    for path in CODE:
        for match in KEY.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), str(path.relative_to(ROOT)))
    return found


def test_both_languages_have_the_same_keys():
    dutch, english = set(messages.catalogue("nl")), set(messages.catalogue("en"))
    assert sorted(dutch - english) == [] and sorted(english - dutch) == []


def test_each_key_has_the_same_parameters_in_both_languages():
    english = messages.catalogue("en")
    differ = {key: (messages.placeholders(template), messages.placeholders(english[key]))
              for key, template in messages.catalogue("nl").items()
              if messages.placeholders(template) != messages.placeholders(english[key])}
    assert differ == {}


def test_no_message_is_empty_or_left_untranslated():
    english = messages.catalogue("en")
    empty = [key for key, template in messages.catalogue("nl").items() if not template.strip()
             or not english[key].strip()]
    assert empty == []


def test_every_key_the_code_asks_for_exists():
    missing = {key: where for key, where in referenced_keys().items()
               if not messages.has(key) and not any(other.startswith(key + ".") for other in messages.catalogue("nl"))}
    assert missing == {}


def test_every_key_in_the_catalogue_is_used():
    used = set(referenced_keys())
    assert sorted(key for key in messages.catalogue("nl") if key not in used) == []


@pytest.fixture
def own_catalogue(tmp_path, monkeypatch):
    """A catalogue of the test's own files: `write(name, toml)`; the real one is back afterwards."""
    folder = tmp_path / "messages"
    folder.mkdir()

    def write(name: str, toml: str) -> None:
        (folder / name).write_text(toml, encoding="utf-8")
        forget_catalogue()

    monkeypatch.setattr(messages.resources, "path", lambda *parts: tmp_path.joinpath(*parts))
    yield write
    monkeypatch.undo()
    forget_catalogue()


def forget_catalogue() -> None:
    messages.catalogue.cache_clear()
    messages.area_catalogue.cache_clear()


def test_a_message_that_is_not_text_is_refused(own_catalogue):
    own_catalogue("core.nl.toml", "[age]\nminimum = 18\n")
    with pytest.raises(ValueError, match=r"core\.age\.minimum: a message must be text, not int"):
        messages.catalogue("nl")


def test_a_topic_file_adds_to_its_area_and_may_not_repeat_a_key(own_catalogue):
    own_catalogue("core.nl.toml", '[age]\ntoo_young = "te jong"\n')
    own_catalogue("core-clinic.nl.toml", '[clinic]\nname = "Naam"\n')
    assert dict(messages.catalogue("nl")) == {"core.age.too_young": "te jong", "core.clinic.name": "Naam"}
    own_catalogue("core-leeftijd.nl.toml", '[age]\ntoo_young = "jong"\n')
    with pytest.raises(ValueError, match=r"core\.age\.too_young is already defined"):
        messages.catalogue("nl")


def test_parameters_are_written_as_the_reader_writes_them(own_catalogue):
    for language, template, who in [("nl", "{who}: {score:.1f} op {day}, {n} keer, bundel {bundle}", "de arts"),
                                    ("en", "{who}: {score:.1f} on {day}, {n} times, bundle {bundle}", "the surgeon")]:
        own_catalogue(f"core.{language}.toml", f'[t]\nline = "{template}"\nwho = "{who}"\n')
    line = messages.msg("core.t.line", who=messages.msg("core.t.who"), score=4.25, day=dt.date(2027, 3, 1), n=3,
                        bundle=Text("Hand en pols", "Hand and wrist"))
    assert line.get("nl") == "de arts: 4,2 op 01-03-2027, 3 keer, bundel Hand en pols"
    assert line.get("en") == "the surgeon: 4.2 on 01-03-2027, 3 times, bundle Hand and wrist"
    assert line.get("fr") == line.get("nl")  # a language we do not have reads Dutch


@given(st.floats(-1000, 1000, allow_nan=False), st.integers(0, 3))
def test_a_dutch_number_differs_from_the_english_one_only_by_its_decimal_comma(value, digits):
    dutch, english = messages.number(value, "nl", digits), messages.number(value, "en", digits)
    assert dutch == english.replace(".", ",") and "." not in dutch
    assert float(english) == pytest.approx(value, abs=10 ** -digits)


def test_a_message_reads_only_the_files_of_its_own_area(own_catalogue):
    """The window's first frame must not wait for the 700 texts of every area (bench_window)."""
    own_catalogue("window.nl.toml", '[starting]\ntext = "{app} wordt gestart"\n')
    own_catalogue("core.nl.toml", "[age]\nminimum = 18\n")  # unreadable: must not be opened
    assert messages.text("window.starting.text", "nl", app="Bundelassistent") == "Bundelassistent wordt gestart"
    with pytest.raises(ValueError, match=r"core\.age\.minimum"):
        messages.text("core.age.minimum", "nl")
