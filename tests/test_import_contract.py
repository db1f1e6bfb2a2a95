"""The layer rules as a test: which package may import which.

Read from the source with `ast` (every `import`, also those inside functions), so a rule
breaks the build the moment someone adds the import, not when the import happens to run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6")
CODE_PACKAGES = ("desktop", "sync", "predictors", "resources")


@dataclass(frozen=True)
class Rule:
    """Modules under `folder` (minus `except_under`) must not import `forbidden` (minus `allowed`)."""

    name: str
    folder: str
    forbidden: tuple[str, ...]
    allowed: tuple[str, ...] = ()
    except_under: tuple[str, ...] = ()


RULES = (
    Rule("the server imports of desktop only the domain core", "sync/server", ("desktop",), ("desktop.core",)),
    Rule("the domain core does no I/O and knows no Qt, store, network or sync", "desktop/core",
         (*QT, "sqlite3", "sqlcipher3", "sqlite_utils", "requests", "keyring", "desktop", "sync", "predictors"),
         ("desktop.core",)),
    *(Rule(f"only desktop/ui imports Qt ({package}/)", package, QT, except_under=("desktop/ui",))
      for package in CODE_PACKAGES),
    Rule("predictors know nothing of the desktop, sync or Qt", "predictors", ("desktop", "sync", *QT)),
)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import in the source of a module in `package`; relative
    imports are resolved against it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            # judge `from A import b` as A.b, so `from desktop import core` counts as desktop.core
            found += [(node.lineno, f"{base}.{alias.name}" if alias.name != "*" else base) for alias in node.names]
    return found


def violations(rule: Rule, files: dict[str, str]) -> list[str]:
    """'path:line imports X' for each import in `files` ({path: source}) that breaks the rule."""
    problems = []
    for path, source in files.items():
        if any(path.startswith(folder + "/") for folder in rule.except_under):
            continue
        package = path.rpartition("/")[0].replace("/", ".")
        for line, name in imported_modules(source, package):
            if _within(name, rule.forbidden) and not _within(name, rule.allowed):
                problems.append(f"{path}:{line} imports {name}")
    return problems


def sources_under(folder: str) -> dict[str, str]:
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted((ROOT / folder).rglob("*.py"))}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_layer_rule_holds(rule):
    files = sources_under(rule.folder)
    assert files, f"{rule.folder} has no Python files: the rule would check nothing"
    assert violations(rule, files) == [], rule.name


def test_the_checker_sees_direct_lazy_relative_and_from_imports():
    server = RULES[0]
    files = {
        "sync/server/a.py": "from desktop.core.bundles import parse_bundle\nfrom desktop import core\n",
        "sync/server/b.py": "def f():\n    from desktop.registry import Registry\n",
        "sync/server/c.py": "import desktop.ui.app\nfrom desktop import syncing\n",
    }
    assert violations(server, files) == ["sync/server/b.py:2 imports desktop.registry.Registry",
                                         "sync/server/c.py:1 imports desktop.ui.app",
                                         "sync/server/c.py:2 imports desktop.syncing"]
    core = RULES[1]
    assert violations(core, {"desktop/core/x.py": "from .. import registry\nimport sqlite3\nfrom . import bundles\n"}) \
        == ["desktop/core/x.py:1 imports desktop.registry", "desktop/core/x.py:2 imports sqlite3"]
    qt = next(rule for rule in RULES if rule.folder == "desktop")
    assert violations(qt, {"desktop/ui/w.py": "from PySide6.QtWidgets import QWidget\n",
                           "desktop/services.py": "from PySide6 import QtCore\n"}) \
        == ["desktop/services.py:1 imports PySide6.QtCore"]
