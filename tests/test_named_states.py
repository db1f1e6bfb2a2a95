"""No logic compares display words or raw state strings: it compares the named states.

Read from the source with `ast`, over every module of `desktop/` and `sync/`: a comparison
(`==`, `!=`, `in`, `not in`) against a string that is the value of a named state
(`desktop.core.states`) or a word the window shows for one (`desktop.ui.state_words`, in
Dutch and in English) fails, and so does SQL that compares a state column with such a
literal. The wording tables themselves are dicts, not comparisons; input vocabularies
(`desktop.core.inputs`: "links" → Side.LEFT) are read with a dict lookup for the same reason.
"""

from __future__ import annotations

import ast
import re
from enum import StrEnum
from pathlib import Path

import pytest

from desktop.core import messages, states
from desktop.ui import state_words

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("desktop", "sync")
STATES: tuple[type[StrEnum], ...] = (states.ModelState, states.RecordState, states.ServerResult,
                                     states.OutboxState, states.InsurerSource, states.Side, states.TreatmentOption,
                                     states.InputSource)
STATE_COLUMNS = r"(?:state|status|server_result|insurer_source|source|side|episode_side|initial_treatment)"
SQL_COMPARISON = re.compile(rf"\b{STATE_COLUMNS}\s*(?:=|!=|<>|\bIN\b|\bNOT IN\b)\s*\(?\s*'([^']*)'", re.IGNORECASE)


def forbidden_words() -> set[str]:
    words = {state.value.lower() for enum in STATES for state in enum}
    for table in state_words.TABLES.values():
        for key in table.values():  # a state's words are catalogue keys: their Dutch and English texts
            words |= {messages.text(key, language).lower() for language in messages.LANGUAGES}
    return words


def _strings(node: ast.AST) -> list[str]:
    """The string constants of a literal, or of a literal collection (also frozenset({...}))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [text for element in node.elts for text in _strings(element)]
    if isinstance(node, ast.Dict):
        return [text for key in node.keys if key is not None for text in _strings(key)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("frozenset", "set", "tuple"):
        return [text for argument in node.args for text in _strings(argument)]
    return []


def _collections(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level names bound to literal collections of strings (`x in CLOSED` compares with them)."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and not isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = _strings(node.value)
    return found


def violations(source: str, words: set[str]) -> list[tuple[int, str]]:
    """(line, text) for each comparison with a state's word or value, and each such SQL comparison."""
    tree = ast.parse(source)
    named = _collections(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                texts = named.get(operand.id, []) if isinstance(operand, ast.Name) else _strings(operand)
                found += [(node.lineno, text) for text in texts if text.lower() in words]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, match.group(0)) for match in SQL_COMPARISON.finditer(node.value)
                      if match.group(1).lower() in words]
    return found


def code_modules() -> list[Path]:
    return sorted(path for package in SCANNED for path in (ROOT / package).rglob("*.py")
                  if "migrations" not in path.parts)  # migrations on main are never edited


def test_the_scan_reads_the_code_and_knows_the_words():
    assert len(code_modules()) > 50
    words = forbidden_words()
    assert {"gereed", "verzonden", "links", "ingetrokken", "conservatief", "left", "withdrawn", "done", "card"} <= words


@pytest.mark.parametrize("snippet", [
    'if record["state"] == "withdrawn":\n    pass\n',
    'ready = label.text() == "gereed"\n',
    'side = value in ("links", "rechts")\n',
    'CLOSED = frozenset({"ingetrokken", "cancelled"})\nok = state.lower() not in CLOSED\n',
    'db.execute("SELECT count(*) FROM outbox WHERE state != \'done\'")\n',
    'db.execute("UPDATE inclusions SET x = 1 WHERE server_result = \'rejected\'")\n',
])
def test_the_scan_finds_a_comparison_with_display_text_or_a_raw_state(snippet):
    assert violations(snippet, forbidden_words())


def test_a_comparison_with_a_named_state_or_a_lookup_in_a_wording_table_passes():
    source = ('if record["state"] == RecordState.WITHDRAWN:\n    pass\n'
              'TEXT = {Side.LEFT: "links"}\nword = TEXT[side]\n'
              'WORDS = {"links": Side.LEFT}\nside = WORDS.get(typed)\n'
              'db.execute(f"UPDATE outbox SET state = ? WHERE seq = ?", [OutboxState.DONE, 1])\n')
    assert violations(source, forbidden_words()) == []


def test_no_module_compares_display_words_or_raw_state_strings():
    words = forbidden_words()
    found = [f"{path.relative_to(ROOT)}:{line}: {text}" for path in code_modules()
             for line, text in violations(path.read_text(encoding="utf-8"), words)]
    assert found == []
