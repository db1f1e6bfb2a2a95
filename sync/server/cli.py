"""`bundelassistent-server`: run the central server and administer it.

Every subcommand takes `--database URL` (before or after the subcommand; default: the
environment variable BUNDELASSISTENT_SERVER_DATABASE, else a SQLite file in the user data
folder) and `--config FILE` (the server's TOML settings; default:
BUNDELASSISTENT_SERVER_CONFIG, else none) and brings the schema up to date first. Errors
go to stderr as `fout: …` with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from desktop.core.settings import plain
from sync.server.config import (
    BY_NAME,
    CONFIG_ENV,
    DATABASE_ENV,
    EVERY_COMMAND,
    SETTINGS,
    ConfigError,
    Settings,
    environment_variable,
    option,
)

if TYPE_CHECKING:  # for annotations only; `_run` imports it where the database is opened
    from sync.server.storage import Storage


def _database_option(parser: argparse.ArgumentParser, top: bool) -> None:
    parser.add_argument("--database", metavar="URL", default=None if top else argparse.SUPPRESS,
                        help=f"sqlite:///pad, een bestandspad of postgresql://…; standaard ${DATABASE_ENV} "
                             "of een SQLite-bestand in de gebruikersmap")
    parser.add_argument("--config", metavar="FILE", default=None if top else argparse.SUPPRESS,
                        help=f"instellingenbestand (TOML, bijvoorbeeld clinic_agb); standaard ${CONFIG_ENV}")
    for name in EVERY_COMMAND:
        _setting_option(parser, name, default=None if top else argparse.SUPPRESS)


def _setting_option(parser: argparse.ArgumentParser, name: str, default: object = None) -> None:
    """An option made from the declared setting; its value is parsed and checked by `Settings`."""
    setting = BY_NAME[name]
    shown = "uit" if setting.default is False else plain(setting.default)
    where = f"ook ${environment_variable(name)} of {name} in --config"
    help_text = f"{setting.label} ({where}; standaard {shown})" if shown is not None else f"{setting.label} ({where})"
    if setting.default is False:  # an on/off setting: the option turns it on
        parser.add_argument(option(name), action="store_true", default=default, help=help_text)
    else:
        parser.add_argument(option(name), metavar=setting.metavar, default=default, help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bundelassistent-server",
                                     description="Centrale server van Bundelassistent en het beheer ervan.")
    _database_option(parser, top=True)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _database_option(sub, top=False)
        return sub

    serve = command("serve", "start de server (HTTPS met --tls-cert/--tls-key, anders HTTP achter een "
                             "reverse proxy die TLS doet)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--workers", type=int, default=1,
                       help="processen; alleen met PostgreSQL meer dan 1")
    serve.add_argument("--no-access-log", action="store_true", help="geen regel per verzoek in het log")
    serve.add_argument("--tls-cert", type=Path, default=None, help="PEM-certificaat: de server spreekt dan HTTPS")
    serve.add_argument("--tls-key", type=Path, default=None, help="PEM-sleutel bij --tls-cert")
    for setting in SETTINGS:
        if setting.name not in EVERY_COMMAND:
            _setting_option(serve, setting.name)

    code = command("enroll-code", "maak een eenmalige koppelcode (de laatste regel van de uitvoer)")
    code.add_argument("--location", default=None, help="locatie van het apparaat dat ermee koppelt")
    code.add_argument("--organisation", default=None,
                      help="organisatie van het apparaat: het ziet alleen inclusies van apparaten van dezelfde "
                           "organisatie (standaard 'standaard')")
    code.add_argument("--valid-hours", type=float, default=24, help="geldigheid in uren (standaard 24)")

    revoke = command("revoke", "trek een apparaat in (werkt bij zijn volgende verzoek)")
    revoke.add_argument("device_id", metavar="DEVICE_ID")

    command("devices", "toon de gekoppelde apparaten")

    device_key = command("device-key", "toon de databasesleutel van een apparaat (voor herstel; wordt gelogd)")
    device_key.add_argument("device_id", metavar="DEVICE_ID")
    device_key.add_argument("--all", action="store_true", help="ook eerdere sleutels (voor oudere back-ups)")

    coverage = command("import-coverage",
                       "lees een dekkingsbestand (bsn,birth_date,uzovi,insurer,valid_from,valid_to)")
    coverage.add_argument("csv", metavar="CSV", type=Path)

    intake = command("import-intake", "lees intakevragenlijsten (FHIR R4 JSON of CSV) van het PROM-platform")
    intake.add_argument("file", metavar="FILE", type=Path)
    intake.add_argument("--mapping", metavar="MAPPING.toml", type=Path, default=None,
                        help="linkIds en codes van de kliniek op die van het codeboek (zie docs/IT.md)")
    intake.add_argument("--organisation", default=None,
                        help="alleen apparaten van deze organisatie (zoals bij enroll-code) mogen deze "
                             "vragenlijsten opvragen; zonder: de apparaten van elke organisatie")

    bundles = command("import-bundles", "lees bundeldefinities (*.toml) uit een map")
    bundles.add_argument("folder", metavar="DIR", type=Path)

    export = command("export", "exporteer geaccepteerde inclusies")
    export.add_argument("--format", choices=["csv", "fhir"], default="csv")
    export.add_argument("--profile", choices=["insurer", "research"], default=None,
                        help="CSV: de kolommen voor de verzekeraar (standaard) of voor onderzoek (zonder BSN)")
    export.add_argument("--columns", metavar="A,B,…", default=None,
                        help="CSV: precies deze kolommen, in deze volgorde (zie README)")
    export.add_argument("--output", type=Path, default=None,
                        help="bestand, alleen leesbaar voor de eigenaar (standaard: stdout)")

    command("migrate", "breng het databaseschema bij (gebeurt ook bij elk ander commando)")
    return parser


def _fail(message: str) -> int:
    print(f"fout: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        options = {name: getattr(args, name, None) for name in BY_NAME}
        settings = Settings.from_url(args.database, args.config, **options)
        return _run(args, settings)
    except ConfigError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the admin sees a sentence, not a traceback
        from sync.server.devices import AdminError
        from sync.server.storage import DatabaseUnavailable
        if isinstance(error, AdminError):
            return _fail(str(error))
        if isinstance(error, DatabaseUnavailable):
            return _fail("de database is niet bereikbaar of bezet; probeer het opnieuw")
        from sqlalchemy.exc import SQLAlchemyError
        if isinstance(error, SQLAlchemyError):
            origin = getattr(error, "orig", None)
            detail = str(origin).strip().splitlines()[0] if origin is not None else type(error).__name__
            return _fail(f"database: {detail}")
        logging.getLogger("bundelassistent.server").debug("onverwachte fout", exc_info=True)
        return _fail(f"onverwachte fout ({type(error).__name__}); start met --log-level debug voor details")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from sync.server import bundles, coverage, devices
    from sync.server.storage import Storage

    storage = Storage(settings)
    try:
        storage.migrate()
        if args.command == "serve":
            from sync.server.device_keys import load_kek

            load_kek(settings.key_file)  # made or checked now: a bad key file stops the start, not a deposit
            return _serve(args, settings, storage)
        if args.command == "migrate":
            print(f"schema bijgewerkt tot revisie {storage.schema_revision()}")
            if storage.grant_application_role():
                print("rechten van de applicatierol bundelassistent_app bijgewerkt")
        elif args.command == "enroll-code":
            from sync.server.tables import DEFAULT_ORGANISATION

            organisation = args.organisation or DEFAULT_ORGANISATION
            code, expires = devices.create_enrollment_code(storage, args.location, args.valid_hours, organisation)
            local = expires.astimezone().strftime("%Y-%m-%d %H:%M %Z")
            where = f" voor {args.location}" if args.location else ""
            print(f"Eenmalige koppelcode{where} (organisatie: {organisation}), geldig tot {local}.")
            print("Koppel het apparaat met: bundelassistent enroll --server URL --code CODE")
            print(code)
        elif args.command == "revoke":
            devices.revoke(storage, args.device_id)
            print(f"apparaat {args.device_id} ingetrokken; zijn volgende verzoek wordt geweigerd")
        elif args.command == "devices":
            _print_devices(devices.list_devices(storage))
        elif args.command == "device-key":
            _print_device_keys(args, settings, storage)
        elif args.command == "import-coverage":
            summary = coverage.import_coverage(storage, args.csv)
            print(f"{summary.rows} regels gelezen: {summary.added} nieuw, {summary.changed} gewijzigd, "
                  f"{summary.unchanged} ongewijzigd")
        elif args.command == "import-intake":
            return _import_intake(args, storage)
        elif args.command == "import-bundles":
            result = bundles.import_bundles(storage, args.folder)
            for label in result.added:
                print(f"nieuw: {label}")
            for label in result.changed:
                print(f"gewijzigd: {label}")
            print(f"{len(result.added)} nieuw, {len(result.changed)} gewijzigd, {len(result.unchanged)} ongewijzigd")
        elif args.command == "export":
            _export(args, settings, storage)
        return 0
    finally:
        storage.dispose()


def _import_intake(args: argparse.Namespace, storage) -> int:
    """Exit 1 when a response was rejected (each named on stderr), else 0."""
    from sync.server import intake

    summary, parsed = intake.import_intake(storage, args.file, args.mapping, args.organisation)
    for line in parsed.messages():
        print(f"overgeslagen: {line}", file=sys.stderr)
    if parsed.ignored:
        shown = sorted({intake.shown(link_id) for link_id in parsed.ignored})
        more = f" en nog {len(shown) - 20}" if len(shown) > 20 else ""
        print(f"genegeerde linkIds (niet in het codeboek of de mapping): {', '.join(shown[:20])}{more}",
              file=sys.stderr)
    if parsed.more_pages:
        print("waarschuwing: dit is één pagina van een zoekresultaat (de Bundle heeft een link 'next'); lees de "
              "volgende pagina's ook in, of exporteer met een grotere _count", file=sys.stderr)
    print(f"{summary.read} vragenlijsten gelezen: {summary.added} nieuw, {summary.changed} gewijzigd, "
          f"{summary.unchanged} ongewijzigd, {summary.rejected} overgeslagen, {summary.not_completed} niet afgerond "
          f"({summary.patients} patiënten bijgewerkt)")
    return 1 if summary.rejected else 0


def _export(args: argparse.Namespace, settings: Settings, storage) -> None:
    from sync.server import export

    result = export.export(storage, settings, args.format, args.profile, args.columns)
    for warning in result.warnings:
        print(f"waarschuwing: {warning}", file=sys.stderr)
    if args.output:
        export.write_private(args.output, result.content)
        print(f"{result.inclusions} inclusies geëxporteerd naar {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(result.content)
        sys.stdout.flush()


def _print_device_keys(args: argparse.Namespace, settings: Settings, storage) -> None:
    """Newest key on the last line (as enroll-code prints its code); older ones above with --all."""
    from sync.server import device_keys

    found = device_keys.retrieve(storage, args.device_id, device_keys.load_kek(settings.key_file))
    print(f"Databasesleutel van apparaat {args.device_id}. Zet hem terug op het apparaat met: "
          "bundelassistent recover-key (de sleutel op standaardinvoer)", file=sys.stderr)
    for when, key in (found if args.all else found[-1:]):
        label = when.astimezone().strftime("%Y-%m-%d %H:%M %Z")
        print(f"{label}  {key}" if args.all else key)


def _print_devices(rows: list[dict]) -> None:
    def when(value: dt.datetime | None) -> str:
        return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"

    print(f"{'device_id':36}  {'naam':20}  {'locatie':15}  {'organisatie':15}  {'gekoppeld':16}  "
          f"{'laatst gezien':16}  status")
    for row in rows:
        status = f"ingetrokken {when(row['revoked_at'])}" if row["revoked_at"] else "actief"
        print(f"{row['id']:36}  {row['name'][:20]:20}  {(row['location'] or '-')[:15]:15}  "
              f"{row['organisation'][:15]:15}  {when(row['enrolled_at']):16}  {when(row['last_seen']):16}  {status}")
    if not rows:
        print("(nog geen apparaten)")


class ServeOptions(TypedDict):
    """What `serve` hands uvicorn, in one process or in several."""

    host: str
    port: int
    log_level: str
    access_log: bool
    proxy_headers: bool
    server_header: bool
    http: str
    limit_concurrency: int
    timeout_keep_alive: float
    ssl_certfile: str | None
    ssl_keyfile: str | None


def _serve(args: argparse.Namespace, settings: Settings, storage: Storage) -> int:
    import uvicorn

    from sync.server.app import create_app

    if args.tls_cert or args.tls_key:
        from sync.server.devices import AdminError
        if not (args.tls_cert and args.tls_key):
            raise AdminError("--tls-cert en --tls-key horen bij elkaar")
        for path in (args.tls_cert, args.tls_key):
            if not Path(path).is_file():
                raise AdminError(f"{path}: bestand bestaat niet")
    options = ServeOptions(
        host=args.host, port=args.port, log_level=args.log_level, access_log=not args.no_access_log,
        proxy_headers=True, server_header=False,
        # the header deadline lives in the HTTP protocol class, which reads it from the environment
        http="sync.server.deadlines:DeadlineH11Protocol", limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.keep_alive_timeout,
        ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
        ssl_keyfile=str(args.tls_key) if args.tls_key else None)
    if args.workers > 1:
        if settings.dialect != "postgresql":
            from sync.server.devices import AdminError
            raise AdminError("--workers > 1 kan alleen met PostgreSQL")
        storage.dispose()
        os.environ.update(settings.environment())  # the workers build their Settings from these
        if args.config:
            os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
        # (the ignores: uvicorn annotates timeout_keep_alive as int; it takes fractional seconds, call_later)
        uvicorn.run("sync.server.app:app_from_environment", factory=True, workers=args.workers,
                    **options)  # type: ignore[arg-type]
        return 0
    os.environ.update(settings.environment(with_database=False))
    uvicorn.run(create_app(settings, storage), **options)  # type: ignore[arg-type]  # timeout_keep_alive, as above
    return 0


if __name__ == "__main__":
    sys.exit(main())
