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
from desktop.core.messages import msg
from desktop.logs import redact

REQUIRED_MODULES = (
    "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "PySide6.QtPrintSupport",
    "sqlite_utils", "sqlcipher3", "numpy", "scipy.special", "keyring", "requests", "stdnum.nl.bsn",
    "platformdirs", "pydantic", "truststore", "sync.client", "predictors",
)
KEYRING_SERVICE = "Bundelassistent"


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
        raise CheckFailed("ontbreekt of laadt niet: " + "; ".join(missing) + " — installeer de app opnieuw")
    return f"{len(REQUIRED_MODULES)} modules geladen"


def check_resources(settings: config.Settings) -> str:
    import resources
    from desktop.core.identifiers import shipped_uzovi_table

    if not resources.path("bundles").is_dir():
        raise CheckFailed(f"map met bundeldefinities ontbreekt: {resources.path('bundles')} — installeer opnieuw")
    insurers = shipped_uzovi_table()
    if not insurers:
        raise CheckFailed("UZOVI-tabel is leeg of ontbreekt — installeer opnieuw")
    return f"UZOVI-tabel met {len(insurers)} verzekeraars; bronmap {resources.ROOT}"


def check_bundles(settings: config.Settings) -> str:
    from desktop.core.bundles import contract_ends
    from desktop.operations.services import bundles_in_use

    report = bundles_in_use(settings)
    if report.errors:
        names = ", ".join(sorted(path.name for path in report.errors))
        raise CheckFailed(f"ongeldige bundeldefinitie(s): {names} — zie `bundelassistent validate-bundles`")
    active = sorted(bundle.id for bundle in report.bundles.values() if bundle.active)
    if not active:
        raise CheckFailed("geen actieve bundel gevonden — controleer de bundelmap")
    summary = f"{len(report.bundles)} definities, actief: {', '.join(active)}"
    ends = contract_ends(report.active(), dt.date.today())
    if any(end.ended for end in ends):
        raise CheckFailed(f"{summary}; " + "; ".join(end.message() for end in ends))
    if ends:
        raise CheckWarning(f"{summary}; " + "; ".join(end.message() for end in ends))
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
        raise CheckFailed(f"{path}: auditlog niet te lezen ({error}) — zie de controle van de database") from None
    if problems:
        raise CheckFailed(f"{path}: er is met het auditlog geknoeid: {'; '.join(problems)} — laat het bestand "
                          "ongewijzigd, maak een kopie (`bundelassistent backup`) en meld het bij IT/security")
    return f"{count} regel(s), hashketen klopt, beveiliging tegen wijzigen en wissen aanwezig"


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
        raise CheckFailed(f"datamap {folder} is niet schrijfbaar ({error.strerror}) "
                          "— geef de gebruiker schrijfrechten") from None
    try:
        with Registry(folder / DATABASE_NAME) as registry:
            if not registry.integrity_ok():
                raise CheckFailed(f"{folder / DATABASE_NAME}: integriteitscontrole mislukt — zet een back-up terug "
                                  "(`bundelassistent restore BESTAND`)")
            version = registry.schema_version
            count = registry.record_count()
    except store.FAULTS as error:
        raise CheckFailed(str(store.describe(error, folder / DATABASE_NAME))) from None
    if version != len(MIGRATIONS):
        raise CheckFailed(f"databaseschema versie {version}, verwacht {len(MIGRATIONS)}")
    return f"{folder} schrijfbaar; database in orde (schema {version}, {count} inclusies)"


ENCRYPTION_STATES = {
    "encrypted": "versleuteld (SQLCipher), sleutel in de sleutelbos",
    "plaintext": "NIET versleuteld",
    "key missing": "versleuteld, maar de sleutel ontbreekt in de sleutelbos",
    "no database yet": "nog geen database",
    "no keyring": "onbekend: geen werkende sleutelbos",
    "damaged": "beschadigd: geen SQLCipher- of SQLite-bestand",
}


def check_encryption(settings: config.Settings) -> str:
    """Encrypted / plaintext / key missing, and whether the files are this user's only."""
    from desktop import store
    from desktop.store.inclusions import DATABASE_NAME

    path = settings.data_dir / DATABASE_NAME
    state = store.encryption_state(path)
    text = f"{path.name}: {ENCRYPTION_STATES[state]}"
    if state != store.EncryptionState.ENCRYPTED:
        raise CheckFailed(text + " — start de app één keer (versleutelt) of zie docs/IT.md, 'Versleuteling'")
    if os.name == "posix":
        loose = [p.name for p in (path.parent, path) if p.stat().st_mode & 0o077]
        if loose:
            raise CheckFailed(f"{text}, maar leesbaar voor anderen: {', '.join(loose)} — start de app één keer")
        text += "; map 0700, bestand 0600"
    return text


def check_models(settings: config.Settings) -> str:
    """Every model file matches the SHA-256 in its card, and the models answer."""
    from predictors import ModelFileError, load_models

    try:
        models = load_models(settings.models_dir)
    except ModelFileError as error:
        raise CheckFailed(f"{error} — installeer de app opnieuw of train de modellen opnieuw") from None
    parts = []
    for condition in models.conditions:
        card = models.card(condition)
        files = len(card.get("files", {}))
        synthetic = " (synthetische data)" if card.get("synthetic") else ""
        parts.append(f"{condition}: {files} bestanden, controlesom klopt{synthetic}")
    return "; ".join(parts)


def check_keyring(settings: config.Settings) -> str:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise CheckFailed("geen sleutelbos (keyring) beschikbaar — het apparaattoken kan niet veilig bewaard worden")
    probe = f"zelftest-{os.getpid()}"
    try:
        keyring.set_password(KEYRING_SERVICE, probe, "ok")
        read_back = keyring.get_password(KEYRING_SERVICE, probe)
        keyring.delete_password(KEYRING_SERVICE, probe)
    except Exception as error:
        raise CheckFailed(f"sleutelbos {type(backend).__name__} werkt niet ({error})") from None
    if read_back != "ok":
        raise CheckFailed(f"sleutelbos {type(backend).__name__} gaf een andere waarde terug")
    return f"{type(backend).__module__}.{type(backend).__name__} werkt"


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
        return "geen server ingesteld: dit apparaat werkt alleen lokaal"
    token = engine.load_token(url)
    client = engine.make_client(url, token, settings.proxy, settings.ca_bundle)
    try:
        health = client.health()
        if health.protocol_version != protocol.PROTOCOL_VERSION:
            raise CheckFailed(f"{url}: {upgrade_message(str(health.protocol_version), '')}")
        if not token:
            raise CheckFailed(f"{url} bereikbaar, maar dit apparaat is niet aangemeld — "
                              "gebruik `bundelassistent enroll --server URL --code CODE`")
        client.changes(cursor=0, limit=1)
    except AuthenticationFailed as error:
        raise CheckFailed(str(error)) from None
    except SyncError as error:
        raise CheckFailed(str(error)) from None
    finally:
        client.close()
    return f"{url} bereikbaar ({health.database}, protocol {health.protocol_version}); apparaattoken geldig"


def check_settings(settings: config.Settings) -> str:
    """What differs from the defaults, so IT sees what the files and the environment set;
    a setting that was ignored (a user's `role`, an old `clinic_agb`) is a warning."""
    if settings.notices:
        raise CheckWarning("; ".join(settings.notices))
    return ", ".join(config.changed(settings)) or "alle standaard"


def check_clinic(settings: config.Settings) -> str:
    """The handout tells the patient whom to call and the inclusion names who explained the bundle:
    without [clinic] and [[staff]] in the system-wide file the window can do neither well."""
    missing = settings.clinic.missing()
    if missing:
        raise CheckWarning(str(msg("operations.clinic.missing", keys=", ".join(missing))))
    if not settings.staff:
        raise CheckWarning(str(msg("operations.clinic.no_staff", clinic=settings.clinic.name)))
    return str(msg("operations.clinic.ok", clinic=settings.clinic.name, count=len(settings.staff)))


DEFAULT_CHECKS: list[tuple[str, Check]] = [
    ("Instellingen", check_settings),
    ("Kliniek en medewerkers", check_clinic),
    ("Python-modules", check_imports),
    ("Bronbestanden", check_resources),
    ("Bundeldefinities", check_bundles),
    ("Voorspellingsmodellen", check_models),
    ("Datamap en database", check_data_dir),
    ("Versleuteling", check_encryption),
    ("Auditlog", check_audit_log),
    ("Sleutelbos", check_keyring),
    ("Centrale server", check_server),
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
            detail, ok = f"onverwachte fout: {type(error).__name__}: {redact(str(error))}", False
        results.append(CheckResult(name, ok, detail, time.perf_counter() - started))
    return results


def report(results: list[CheckResult], settings: config.Settings) -> str:
    lines = [f"Bundelassistent zelftest, versie {__version__}",
             f"  datamap: {settings.data_dir}", f"  logmap:  {settings.log_dir}", ""]
    for result in results:
        label = "FOUT" if not result.ok else "LET OP" if result.warning else "OK  "
        lines.append(f"{label}  {result.name}: {result.detail}")
    failed = sum(not result.ok for result in results)
    lines.append("")
    lines.append("Alle controles geslaagd." if not failed else f"{failed} van {len(results)} controles mislukt.")
    return "\n".join(lines)
