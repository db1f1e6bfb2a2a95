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


NO_IO = ("sqlite3", "sqlcipher3", "sqlite_utils", "requests", "httpx", "keyring", "platformdirs", "socket",
         "subprocess", "shutil", "tempfile", "http", "urllib.request")
# What the window and the CLI may import of the project besides the operations: the domain
# core's pure types, the app's settings, logging and text-file reading, and (CLI) the window.
FRONT_DOOR = ("desktop.operations", "desktop.core", "desktop.ui", "desktop.config", "desktop.logs",
              "desktop.textfiles", "desktop.__version__")

RULES = (
    Rule("the server imports of desktop only the domain core", "sync/server", ("desktop",), ("desktop.core",)),
    Rule("the server imports nothing of the device's sync engine or client", "sync/server",
         ("sync.engine", "sync.client")),
    Rule("the domain core does no I/O and knows no Qt, store, network or sync", "desktop/core",
         (*QT, *NO_IO, "desktop", "sync", "predictors"), ("desktop.core",)),
    *(Rule(f"only desktop/ui imports Qt ({package}/)", package, QT, except_under=("desktop/ui",))
      for package in CODE_PACKAGES),
    Rule("predictors know nothing of the desktop, sync or Qt", "predictors", ("desktop", "sync", *QT)),
    *(Rule(f"{front} goes only through desktop/operations (and the core's types)", front,
           ("desktop", "sync", "predictors"), FRONT_DOOR) for front in ("desktop/ui", "desktop/cli.py")),
    Rule("the local store knows no sync engine, operations, window or predictors", "desktop/store",
         ("sync", "desktop.operations", "desktop.ui", "desktop.cli", "predictors", *QT)),
    Rule("the sync engine and client know no operations or window", "sync",
         ("desktop.operations", "desktop.ui", "desktop.cli"), except_under=("sync/server",)),
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
    """{path: source} of the Python files under a folder (or of the one file, for `desktop/cli.py`)."""
    paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
    return {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in paths if path.is_file()}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_layer_rule_holds(rule):
    files = sources_under(rule.folder)
    assert files, f"{rule.folder} has no Python files: the rule would check nothing"
    assert violations(rule, files) == [], rule.name


def _rule(name_start: str) -> Rule:
    return next(rule for rule in RULES if rule.name.startswith(name_start))


def test_the_checker_sees_direct_lazy_relative_and_from_imports():
    server = _rule("the server imports of desktop")
    files = {
        "sync/server/a.py": "from desktop.core.bundles import parse_bundle\nfrom desktop import core\n",
        "sync/server/b.py": "def f():\n    from desktop.store.inclusions import Registry\n",
        "sync/server/c.py": "import desktop.ui.app\nfrom desktop import store\n",
    }
    assert violations(server, files) == ["sync/server/b.py:2 imports desktop.store.inclusions.Registry",
                                         "sync/server/c.py:1 imports desktop.ui.app",
                                         "sync/server/c.py:2 imports desktop.store"]
    engine = _rule("the server imports nothing of the device")
    assert violations(engine, {"sync/server/d.py": "from sync import engine, protocol\nfrom ..client import X\n"}) \
        == ["sync/server/d.py:1 imports sync.engine", "sync/server/d.py:2 imports sync.client.X"]
    core = _rule("the domain core")
    assert violations(core, {"desktop/core/x.py": "from .. import store\nimport sqlite3\nfrom . import bundles\n"
                                                  "import socket\n"}) \
        == ["desktop/core/x.py:1 imports desktop.store", "desktop/core/x.py:2 imports sqlite3",
            "desktop/core/x.py:4 imports socket"]
    qt = next(rule for rule in RULES if rule.folder == "desktop")
    assert violations(qt, {"desktop/ui/w.py": "from PySide6.QtWidgets import QWidget\n",
                           "desktop/operations/services.py": "from PySide6 import QtCore\n"}) \
        == ["desktop/operations/services.py:1 imports PySide6.QtCore"]


def test_the_window_and_the_cli_are_caught_going_around_the_operations():
    ui = _rule("desktop/ui goes only")
    files = {"desktop/ui/w.py": "from desktop.operations.services import Services\nfrom desktop.core import states\n"
                                "from desktop.store.inclusions import Registry\nfrom sync import engine\n"
                                "def f():\n    from predictors.schema import baseline_columns\n"}
    assert violations(ui, files) == ["desktop/ui/w.py:3 imports desktop.store.inclusions.Registry",
                                     "desktop/ui/w.py:4 imports sync.engine",
                                     "desktop/ui/w.py:6 imports predictors.schema.baseline_columns"]
    cli = _rule("desktop/cli.py goes only")
    assert set(sources_under(cli.folder)) == {"desktop/cli.py"}
    cli_source = "from desktop import config, store\nfrom sync.client import SyncError\n"
    assert violations(cli, {"desktop/cli.py": cli_source}) \
        == ["desktop/cli.py:1 imports desktop.store", "desktop/cli.py:2 imports sync.client.SyncError"]


def test_the_store_and_the_sync_engine_are_caught_reaching_up():
    store = _rule("the local store")
    assert violations(store, {"desktop/store/x.py": "from sync import engine\nfrom desktop.operations import services\n"
                                                    "from . import audit_chain\n"}) \
        == ["desktop/store/x.py:1 imports sync.engine", "desktop/store/x.py:2 imports desktop.operations.services"]
    engine = _rule("the sync engine")
    assert violations(engine, {"sync/engine.py": "from desktop.store import outbox\nfrom desktop.ui import app\n",
                               "sync/server/api.py": "from desktop.ui import app\n"}) \
        == ["sync/engine.py:2 imports desktop.ui.app"]
