"""The installation check IT runs after a roll-out: `bundelassistent self-test`.

Each check is a small function that returns what it found or raises `CheckFailed` with
what is wrong and how to fix it. Unexpected errors are caught per check, so one broken
part never hides the report on the others. Nothing here imports Qt; the window check is
added by the command line, which may.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from desktop import __version__, config
from desktop.core.messages import joined, msg, text
from desktop.logs import redact

REQUIRED_MODULES = (
    "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtPrintSupport",
    "sqlite_utils", "sqlcipher3", "numpy", "scipy.special", "keyring", "requests", "stdnum.nl.bsn",
    "platformdirs", "pydantic", "truststore", "sync.client", "predictors",
)
KEYRING_SERVICE = "Bundelassistent"
LANGUAGE = "nl"  # the self-test's report is for IT, on the command line: Dutch, as the CLI


def say(key: str, /, **params: object) -> str:
    return text(key, LANGUAGE, **params)


class CheckFailed(Exception):
    """A check found a problem; the message says what and how to fix it."""


class CheckWarning(Exception):
    """It works today, but someone must act soon (the message says who and what); not a failure."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float
    warning: bool = False


Check = Callable[[config.Settings], str]


def check_imports(settings: config.Settings) -> str:
    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except Exception as error:  # an ImportError, or a broken binary module
            last_line = (str(error).strip().splitlines() or [""])[-1]  # numpy's advice text is 30 lines
            missing.append(f"{name} ({type(error).__name__}: {last_line})")
    if missing:
        raise CheckFailed(say("operations.selftest.modules_missing", modules=joined(missing, "; ")))
    return say("operations.selftest.modules_loaded", count=len(REQUIRED_MODULES))


def check_resources(settings: config.Settings) -> str:
    import resources
    from desktop.core.identifiers import shipped_uzovi_table

    if not resources.path("bundles").is_dir():
        raise CheckFailed(say("operations.selftest.bundles_folder_missing", folder=resources.path("bundles")))
    insurers = shipped_uzovi_table()
    if not insurers:
        raise CheckFailed(say("operations.selftest.uzovi_missing"))
    return say("operations.selftest.resources_ok", count=len(insurers), folder=resources.ROOT)


def check_bundles(settings: config.Settings) -> str:
    from desktop.core.bundles import contract_ends
    from desktop.operations.services import bundles_in_use

    report = bundles_in_use(settings)
    if report.errors:
        names = joined(sorted(path.name for path in report.errors))
        raise CheckFailed(say("operations.selftest.bundles_invalid", names=names))
    active = sorted(bundle.id for bundle in report.bundles.values() if bundle.active)
    if not active:
        raise CheckFailed(say("operations.selftest.no_active_bundle"))
    summary = say("operations.selftest.bundles_ok", count=len(report.bundles), active=joined(active))
    ends = contract_ends(report.active(), dt.date.today())
    ends_said = [end.message() for end in ends]
    if any(end.ended for end in ends):
        raise CheckFailed(say("operations.selftest.contracts", summary=summary, ends=joined(ends_said, "; ")))
    if ends:
        raise CheckWarning(say("operations.selftest.contracts", summary=summary, ends=joined(ends_said, "; ")))
    return summary


def check_audit_log(settings: config.Settings) -> str:
    """The audit log's triggers are in place and its hash chain is unbroken."""
    from desktop import store
    from desktop.store.inclusions import DATABASE_NAME, Registry

    path = settings.data_dir / DATABASE_NAME
    try:
        with Registry(path) as registry:
            problems = registry.audit_chain_problems()
            count = registry.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    except store.FAULTS as error:
        raise CheckFailed(say("operations.selftest.audit_unreadable", path=path, problem=error)) from None
    if problems:
        raise CheckFailed(say("operations.selftest.audit_tampered", path=path, problems=joined(problems, "; ")))
    return say("operations.selftest.audit_ok", count=count)


def check_data_dir(settings: config.Settings) -> str:
    from desktop import store
    from desktop.store.inclusions import DATABASE_NAME, Registry
    from desktop.store.migrations import MIGRATIONS

    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".selftest-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise CheckFailed(say("operations.selftest.data_not_writable", folder=folder, problem=error.strerror)) from None
    try:
        with Registry(folder / DATABASE_NAME) as registry:
            if not registry.integrity_ok():
                raise CheckFailed(say("operations.selftest.integrity", path=folder / DATABASE_NAME))
            version = registry.schema_version
            count = registry.record_count()
    except store.FAULTS as error:
        raise CheckFailed(store.describe(error, folder / DATABASE_NAME).text(LANGUAGE)) from None
    if version != len(MIGRATIONS):
        raise CheckFailed(say("operations.selftest.schema", version=version, expected=len(MIGRATIONS)))
    return say("operations.selftest.data_ok", folder=folder, version=version, count=count)


ENCRYPTION_STATES = {
    "encrypted": "operations.selftest.encryption.encrypted",
    "plaintext": "operations.selftest.encryption.plaintext",
    "key missing": "operations.selftest.encryption.key_missing",
    "no database yet": "operations.selftest.encryption.no_database",
    "no keyring": "operations.selftest.encryption.no_keyring",
    "damaged": "operations.selftest.encryption.damaged",
}


def check_encryption(settings: config.Settings) -> str:
    """Encrypted / plaintext / key missing, and whether the files are this user's only."""
    from desktop import store
    from desktop.store.inclusions import DATABASE_NAME

    path = settings.data_dir / DATABASE_NAME
    state = store.encryption_state(path)
    found = msg(ENCRYPTION_STATES[state])
    if state != store.EncryptionState.ENCRYPTED:
        raise CheckFailed(say("operations.selftest.not_encrypted", file=path.name, state=found))
    if os.name == "posix":
        loose = [p.name for p in (path.parent, path) if p.stat().st_mode & 0o077]
        if loose:
            raise CheckFailed(say("operations.selftest.readable_by_others", file=path.name, state=found,
                                  loose=joined(loose)))
        return say("operations.selftest.encrypted_private", file=path.name, state=found)
    return say("operations.selftest.encrypted", file=path.name, state=found)


def check_models(settings: config.Settings) -> str:
    """Every model file matches the SHA-256 in its card, and the models answer."""
    from predictors import ModelFileError, load_models

    try:
        models = load_models(settings.models_dir)
    except ModelFileError as error:
        raise CheckFailed(say("operations.selftest.models_broken", problem=error)) from None
    parts = []
    for condition in models.conditions:
        card = models.card(condition)
        files = len(card.get("files", {}))
        key = "operations.selftest.model_synthetic" if card.get("synthetic") else "operations.selftest.model_ok"
        parts.append(msg(key, condition=condition, files=files))
    return say("operations.selftest.models_ok", models=joined(parts, "; "))


def check_keyring(settings: config.Settings) -> str:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise CheckFailed(say("operations.selftest.no_keyring"))
    probe = f"zelftest-{os.getpid()}"
    try:
        keyring.set_password(KEYRING_SERVICE, probe, "ok")
        read_back = keyring.get_password(KEYRING_SERVICE, probe)
        keyring.delete_password(KEYRING_SERVICE, probe)
    except Exception as error:
        raise CheckFailed(say("operations.selftest.keyring_broken", keyring=type(backend).__name__,
                              problem=error)) from None
    if read_back != "ok":
        raise CheckFailed(say("operations.selftest.keyring_wrong", keyring=type(backend).__name__))
    return say("operations.selftest.keyring_ok", keyring=f"{type(backend).__module__}.{type(backend).__name__}")


def check_server(settings: config.Settings) -> str:
    """When a server is configured: reachable, same protocol, and this device's token works."""
    from desktop import store
    from desktop.store.inclusions import DATABASE_NAME, Registry
    from sync import engine, protocol
    from sync.client import AuthenticationFailed, SyncError, upgrade_message

    try:
        try:
            with Registry(settings.data_dir / DATABASE_NAME) as registry:
                url = engine.configured_server(registry, settings.server_url)
        except store.FAULTS:  # reported by the data check; the setting still counts
            url = engine.normalise_server_url(settings.server_url) if settings.server_url else None
    except SyncError as error:  # e.g. http:// to another computer: nothing is sent
        raise CheckFailed(str(error)) from None
    if not url:
        return say("operations.selftest.no_server")
    token = engine.load_token(url)
    client = engine.make_client(url, token, settings.proxy, settings.ca_bundle)
    try:
        health = client.health()
        if health.protocol_version != protocol.PROTOCOL_VERSION:
            raise CheckFailed(f"{url}: {upgrade_message(str(health.protocol_version), '')}")
        if not token:
            raise CheckFailed(say("operations.selftest.server_not_enrolled", url=url))
        client.changes(cursor=0, limit=1)
    except AuthenticationFailed as error:
        raise CheckFailed(str(error)) from None
    except SyncError as error:
        raise CheckFailed(str(error)) from None
    finally:
        client.close()
    return say("operations.selftest.server_ok", url=url, database=health.database, protocol=health.protocol_version)


def check_settings(settings: config.Settings) -> str:
    """What differs from the defaults, so IT sees what the files and the environment set;
    a setting that was ignored (a user's `role`, an old `clinic_agb`) is a warning."""
    if settings.notices:
        raise CheckWarning(joined(settings.notices, "; ").get(LANGUAGE))
    return ", ".join(config.changed(settings)) or say("operations.selftest.all_default")


def check_clinic(settings: config.Settings) -> str:
    """The handout tells the patient whom to call and the inclusion names who explained the bundle:
    without [clinic] and [[staff]] in the system-wide file the window can do neither well."""
    missing = settings.clinic.missing()
    if missing:
        raise CheckWarning(say("operations.clinic.missing", keys=", ".join(missing)))
    if not settings.staff:
        raise CheckWarning(say("operations.clinic.no_staff", clinic=settings.clinic.name))
    return say("operations.clinic.ok", clinic=settings.clinic.name, count=len(settings.staff))


DEFAULT_CHECKS: list[tuple[str, Check]] = [
    (say("operations.selftest.check.settings"), check_settings),
    (say("operations.selftest.check.clinic"), check_clinic),
    (say("operations.selftest.check.modules"), check_imports),
    (say("operations.selftest.check.resources"), check_resources),
    (say("operations.selftest.check.bundles"), check_bundles),
    (say("operations.selftest.check.models"), check_models),
    (say("operations.selftest.check.data"), check_data_dir),
    (say("operations.selftest.check.encryption"), check_encryption),
    (say("operations.selftest.check.audit"), check_audit_log),
    (say("operations.selftest.check.keyring"), check_keyring),
    (say("operations.selftest.check.server"), check_server),
]


def run(settings: config.Settings, checks: list[tuple[str, Check]] | None = None) -> list[CheckResult]:
    results = []
    for name, check in checks or DEFAULT_CHECKS:
        started = time.perf_counter()
        try:
            detail, ok = check(settings), True
        except CheckFailed as error:
            detail, ok = str(error), False
        except CheckWarning as error:
            results.append(CheckResult(name, True, str(error), time.perf_counter() - started, warning=True))
            continue
        except Exception as error:  # a bug or an unforeseen environment: report, go on
            detail = say("operations.selftest.unexpected", kind=type(error).__name__, problem=redact(str(error)))
            ok = False
        results.append(CheckResult(name, ok, detail, time.perf_counter() - started))
    return results


def report(results: list[CheckResult], settings: config.Settings) -> str:
    lines = [say("operations.selftest.title", version=__version__),
             say("operations.selftest.data_dir", folder=settings.data_dir),
             say("operations.selftest.log_dir", folder=settings.log_dir), ""]
    for result in results:
        key = ("operations.selftest.line_failed" if not result.ok else
               "operations.selftest.line_warning" if result.warning else "operations.selftest.line_ok")
        lines.append(say(key, check=result.name, detail=result.detail))
    failed = sum(not result.ok for result in results)
    lines.append("")
    lines.append(say("operations.selftest.all_passed") if not failed
                 else say("operations.selftest.some_failed", failed=failed, count=len(results)))
    return "\n".join(lines)
