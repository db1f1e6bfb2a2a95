"""The `bundelassistent` command: the window without a subcommand, tools for IT and tests.

Bad input is reported on stderr as `fout: …` naming the file, line and field, with exit
code 2 (1 for `register` when some lines failed); a traceback is a bug. Qt is imported
only when the window is opened, so the tools start fast and run without a display.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from desktop import config, textfiles

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("bundelassistent")


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--data-dir", type=Path, default=default, help="map met de lokale database")
    parser.add_argument("--bundles-dir", type=Path, default=default, help="map met bundeldefinities (*.toml)")
    parser.add_argument("--config", type=Path, default=default,
                        help="configuratiebestand (vervangt het gebruikersbestand)")
    parser.add_argument("--log-level", choices=config.LOG_LEVELS, type=str.upper, default=default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bundelassistent",
        description="Bundelassistent: inclusie in zorgbundels. Zonder opdracht opent het venster.")
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="OPDRACHT")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, suppress=True)
        return sub

    check = command("check-eligibility", "beoordeel of een casus in aanmerking komt (JSON op stdout)")
    check.add_argument("--json", dest="case_file", required=True, metavar="CASE.json",
                       help="casus als JSON-bestand, of - voor stdin")
    predict = command("predict", "voorspellingen voor Samen beslissen: intakevragenlijst (server, anders cache) "
                                 "met wat de casus invult (JSON op stdout)")
    predict.add_argument("--json", dest="case_file", required=True, metavar="CASE.json",
                         help="casus als JSON-bestand (bsn, birth_date, diagnosis, side, bundle, intake), "
                              "of - voor stdin")
    register = command("register", "registreer inclusies uit een JSONL-bestand (één per regel)")
    register.add_argument("--jsonl", dest="jsonl_file", required=True, metavar="FILE",
                          help="JSONL-bestand, of - voor stdin")
    listing = command("inclusions", "toon de lokale inclusies")
    listing.add_argument("--json", action="store_true", help="als JSON (standaard)")
    listing.add_argument("--with-identifiers", action="store_true",
                         help="toon volledig BSN, geboortedatum en naam (wordt per patiënt gelogd)")
    command("validate-bundles", "controleer alle bundeldefinities")
    intake = command("intake", "haal de intakevragenlijst van een patiënt op (server, anders de lokale cache)")
    intake.add_argument("--bsn", required=True)
    intake.add_argument("--birth-date", required=True, metavar="JJJJ-MM-DD")
    intake.add_argument("--on", default=None, metavar="JJJJ-MM-DD",
                        help="datum van het consult (standaard vandaag): de nieuwste vragenlijst op of vóór die dag")
    intake.add_argument("--json", action="store_true", help="als JSON: source, completed_at, values")
    opener = command("open", "open het venster met een patiënt (vanuit het EPD); een lopend venster neemt het over")
    opener.add_argument("--bsn", default="")
    opener.add_argument("--birth-date", default="")
    opener.add_argument("--patient-id", default="")
    opener.add_argument("--name", default="")
    source = opener.add_mutually_exclusive_group()
    source.add_argument("--stdin", action="store_true",
                        help="lees de patiënt van stdin (JSON of regels sleutel=waarde): "
                             "niet zichtbaar in de proceslijst")
    source.add_argument("--launch-file", type=Path, metavar="FILE",
                        help="lees de patiënt uit dit bestand (alleen voor u leesbaar) en verwijder het daarna")
    enroller = command("enroll", "meld dit apparaat aan bij de centrale server (code van IT)")
    enroller.add_argument("--server", required=True, metavar="URL", help="adres van de centrale server (https://…)")
    enroller.add_argument("--code", required=True, help="eenmalige aanmeldcode")
    syncer = command("sync", "verstuur de wachtrij en haal wijzigingen op")
    syncer.add_argument("--once", action="store_true", required=True, help="één keer, dan stoppen")
    backup = command("backup", "maak een consistente kopie van de lokale database (mag terwijl de app draait)")
    backup.add_argument("--to", dest="target", required=True, type=Path, metavar="FILE", help="nieuw bestand")
    restore = command("restore",
                      "zet een back-up terug (eerst gecontroleerd; het huidige bestand blijft apart bewaard)")
    restore.add_argument("backup_file", type=Path, metavar="FILE", help="back-up van `bundelassistent backup`")
    restore.add_argument("--overwrite-unsynced", action="store_true",
                         help="ook als het huidige register nog niet-verzonden inclusies heeft")
    recover = command("recover-key",
                      "zet de sleutel van dit apparaat (van IT) terug in de sleutelbos; lees hem van stdin")
    recover.add_argument("--backup", type=Path, default=None, metavar="FILE",
                         help="controleer de sleutel met deze back-up (als er geen register is)")
    fresh = command("new-register", "begin bewust met een nieuw, leeg register (het oude blijft apart bewaard)")
    fresh.add_argument("--confirm", action="store_true", required=True, help="ja, begin opnieuw")
    selftest = command("self-test", "controleer de installatie (voor IT); niet-nul bij een fout")
    selftest.add_argument("--no-window", action="store_true", help="sla de venstercontrole over")
    withdraw = command("withdraw", "trek een inclusie in (blijft bewaard met historie)")
    withdraw.add_argument("inclusion_id")
    withdraw.add_argument("--reason", required=True)
    return parser


def _settings(args: argparse.Namespace) -> config.Settings:
    overrides = {key: str(getattr(args, key)) for key in ("data_dir", "bundles_dir", "log_level")
                 if getattr(args, key, None) is not None}
    try:
        return config.load(getattr(args, "config", None), overrides)
    except config.ConfigError as error:
        raise UserError(str(error)) from None


def _read_bytes(path_text: str) -> tuple[bytes, str]:
    """Read a file (or stdin for '-') as bytes; return them and a name for messages."""
    if path_text == "-":
        return sys.stdin.buffer.read(), "stdin"
    try:
        return textfiles.read_bytes(Path(path_text)), Path(path_text).name
    except textfiles.TextFileError as error:
        raise UserError(f"{path_text}: {error}") from None


def cmd_check_eligibility(args, services) -> int:
    from desktop.core.inputs import InputError, parse_case

    data, name = _read_bytes(args.case_file)
    try:
        data = textfiles.parse_json(textfiles.decode(data))
    except textfiles.TextFileError as error:
        raise UserError(f"{name}: {error}") from None
    try:
        case, bundle = parse_case(data, services.bundles)
    except InputError as error:
        raise UserError(f"{name}: {error}") from None
    decision = services.check(case, bundle)
    print(json.dumps(decision.as_dict(), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_predict(args, services) -> int:
    from desktop.core.inputs import InputError
    from desktop.operations import prediction

    data, name = _read_bytes(args.case_file)
    try:
        data = textfiles.parse_json(textfiles.decode(data))
    except textfiles.TextFileError as error:
        raise UserError(f"{name}: {error}") from None
    try:
        question = prediction.parse_question(data, services.bundles, services.today())
    except InputError as error:
        raise UserError(f"{name}: {error}") from None
    try:
        support = prediction.for_question(services, question)
    except prediction.ModelFileError as error:
        raise UserError(str(error)) from None
    print(json.dumps(support, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_register(args, services) -> int:
    data, name = _read_bytes(args.jsonl_file)
    failed = 0
    for number, line in textfiles.lines(data):
        if isinstance(line, str) and not line.strip():
            continue
        try:
            record = _register_line(line, services)
        except UserError as error:
            failed += 1
            print(f"fout: {name} regel {number}: {error}", file=sys.stderr, flush=True)
            log.warning("register: regel %d niet geregistreerd: %s", number, error)
            continue
        print(record["id"], flush=True)  # only now: the transaction has committed durably
        log.info("register: regel %d geregistreerd als %s", number, record["id"])
    if failed:
        print(f"{failed} regel(s) niet geregistreerd", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _register_line(line: str | textfiles.TextFileError, services) -> dict:
    from desktop.core.inputs import InputError, parse_inclusion
    from desktop.core.messages import text
    from desktop.operations.failures import NotEligible

    try:
        if isinstance(line, textfiles.TextFileError):
            raise line
        data = textfiles.parse_json(line)
    except textfiles.TextFileError as error:
        raise UserError(str(error)) from None
    if isinstance(data, dict) and "decision_support" in data:
        raise UserError(text("cli.register.decision_support_given", "nl"))
    try:
        request = parse_inclusion(data, services.bundles, default_location=services.settings.location)
        if isinstance(data, dict) and "intake" in data:  # what predict --json gives for this line is kept
            from desktop.operations import prediction

            try:
                request.decision_support = prediction.for_inclusion(services, request, data["intake"])
            except prediction.ModelFileError as error:
                raise UserError(str(error)) from None
        return services.register(request)
    except InputError as error:
        raise UserError(str(error)) from None
    except NotEligible as error:
        raise UserError(f"komt niet in aanmerking ({error.decision.status}): {error}") from None


LISTED_FIELDS = ("id", "state", "revision", "bundle", "bundle_version", "condition", "diagnosis", "side",
                 "inclusion_date", "end_date", "insurer_uzovi", "eligibility_status", "clinician_agb",
                 "location", "initial_treatment", "created_at", "updated_at", "withdrawal_reason",
                 "server_result", "server_message", "duplicate_of", "synced_at")


def cmd_inclusions(args, services) -> int:
    from desktop.core.identifiers import mask_bsn

    registry = services.registry
    pending = registry.pending_ids()
    listed = []
    for record in registry.inclusions():
        item = {key: record[key] for key in LISTED_FIELDS}
        item["decision_support"] = json.loads(record["decision_support"]) if record["decision_support"] else None
        item["bsn_masked"] = mask_bsn(record["bsn"])
        item["sync_pending"] = record["id"] in pending
        if args.with_identifiers:
            item.update(bsn=record["bsn"], birth_date=record["birth_date"], name=record["name"])
        listed.append(item)
    if args.with_identifiers:
        for record in listed:
            registry.audit("read", record["bsn"], record["id"], details={"via": "cli inclusions"})
    else:
        registry.audit("list", None, None, details={"count": len(listed), "via": "cli inclusions"})
    print(json.dumps(listed, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_validate_bundles(args, services) -> int:
    report = services.bundle_files()
    for bundle in sorted(report.bundles.values(), key=lambda b: b.id):
        status = "actief" if bundle.active else "inactief"
        print(f"OK       {bundle.id} (versie {bundle.version}, {status}): {bundle.source.name}")
    for path, problems in sorted(report.errors.items()):
        print(f"ONGELDIG {path.name}:")
        for problem in problems:
            print(f"         - {path.name}: {problem}")
    if not report.bundles and not report.errors:
        print("geen bundeldefinities gevonden")
        return EXIT_FAILED
    for end in services.contract_ends():  # the bundles in use, with those the server sent
        print(f"{'VERLOPEN' if end.ended else 'LET OP  '} {end.message()}")
    return EXIT_FAILED if report.errors else EXIT_OK


def cmd_withdraw(args, services) -> int:
    from desktop.operations.failures import InvalidChange, RecordNotFound

    try:
        record = services.registry.withdraw(args.inclusion_id, args.reason)
    except (RecordNotFound, InvalidChange) as error:
        raise UserError(str(error)) from None
    print(f"ingetrokken: {record['id']} (revisie {record['revision']})")
    return EXIT_OK


INTAKE_LABELS = {"bsn": "BSN (--bsn)", "birth_date": "geboortedatum (--birth-date)", "on": "consultdatum (--on)"}


def _intake_question(args, today) -> tuple:
    """BSN, birth date and consultation date from the command line, checked before anything is asked."""
    from desktop.core.identifiers import OLDEST_PLAUSIBLE_AGE, InvalidField, age_on, parse_date, validate_bsn

    try:
        bsn = validate_bsn(args.bsn, INTAKE_LABELS["bsn"])
        on = parse_date(args.on, INTAKE_LABELS["on"]) if args.on is not None else today
        born = parse_date(args.birth_date, INTAKE_LABELS["birth_date"])
        if born > on:
            raise InvalidField(INTAKE_LABELS["birth_date"], "ligt na de consultdatum; controleer beide datums")
        if age_on(born, on) > OLDEST_PLAUSIBLE_AGE:
            raise InvalidField(INTAKE_LABELS["birth_date"], f"is niet aannemelijk (ouder dan {OLDEST_PLAUSIBLE_AGE} "
                                                            "jaar)")
    except InvalidField as error:
        raise UserError(str(error)) from None
    return bsn, born, on


def cmd_intake(args, services) -> int:
    from desktop.core.states import IntakeSource

    bsn, born, on = _intake_question(args, services.today())
    found = services.lookup_intake(bsn, born, on)
    if args.json:
        print(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    if found.source == IntakeSource.NONE:
        print(f"geen intakevragenlijst: {found.message}")
        return EXIT_OK
    print(f"intakevragenlijst van {found.completed_on}, {found.message}:")
    for name, value in found.values.items():
        print(f"  {name}: {value}")
    return EXIT_OK


def cmd_enroll(args, services) -> int:
    from desktop.operations.failures import SyncError

    try:
        answer = services.enroll(args.server, args.code)
    except SyncError as error:
        raise UserError(f"aanmelden mislukt: {error}") from None
    print(f"aangemeld bij {services.server_url()} als apparaat {answer.device_id}; token bewaard in de sleutelbos")
    return EXIT_OK


def cmd_sync(args, services) -> int:
    from desktop.operations.failures import SyncError

    try:
        summary = services.sync_once()
    except SyncError as error:
        raise UserError(str(error)) from None
    print(summary.text())
    return EXIT_OK if summary.ok else EXIT_FAILED


def cmd_backup(args, services) -> int:
    try:
        size = services.registry.backup(args.target)
    except FileExistsError:
        raise UserError(f"{args.target}: bestaat al; kies een nieuwe bestandsnaam") from None
    print(f"kopie gemaakt: {args.target} ({size / 1e6:.1f} MB), integriteit in orde")
    return EXIT_OK


def cmd_restore(args, settings) -> int:
    from desktop.operations import register_file

    try:
        info, kept = register_file.restore(settings.data_dir, args.backup_file, args.overwrite_unsynced)
    except register_file.BackupError as error:
        raise UserError(str(error)) from None
    print(f"teruggezet: {args.backup_file} ({info.records} inclusies, {info.unsynced} nog te versturen)")
    if kept:
        print(f"het vorige bestand is bewaard als {kept}")
    return EXIT_OK


def cmd_recover_key(args, settings) -> int:
    import getpass

    from desktop.operations import register_file

    if sys.stdin.isatty():
        key = getpass.getpass("sleutel van dit apparaat (van IT): ")
    else:
        key = sys.stdin.readline()
    try:
        info = register_file.recover_key(settings.data_dir, key, args.backup)
    except register_file.BackupError as error:
        raise UserError(str(error)) from None
    print(f"sleutel bewaard in de sleutelbos; hij opent het register van apparaat {info.device_id} "
          f"({info.records} inclusies)")
    return EXIT_OK


def cmd_new_register(args, settings) -> int:
    from desktop.operations import register_file

    device_id, kept = register_file.new_register(settings.data_dir)
    print(f"nieuw register gemaakt (apparaat {device_id})")
    if kept:
        print(f"het vorige bestand is bewaard als {kept}; de sleutel ervan staat nog in de sleutelbos")
    return EXIT_OK


STORE_COMMANDS = {  # these work on the file itself, so they do not open the register first
    "restore": cmd_restore,
    "recover-key": cmd_recover_key,
    "new-register": cmd_new_register,
}


COMMANDS = {
    "backup": cmd_backup,
    "enroll": cmd_enroll,
    "sync": cmd_sync,
    "check-eligibility": cmd_check_eligibility,
    "predict": cmd_predict,
    "register": cmd_register,
    "inclusions": cmd_inclusions,
    "intake": cmd_intake,
    "validate-bundles": cmd_validate_bundles,
    "withdraw": cmd_withdraw,
}


URL_KEYS = {"bsn": "--bsn", "birth_date": "--birth-date", "birthdate": "--birth-date",
            "patient_id": "--patient-id", "name": "--name"}


def url_to_arguments(url: str) -> list[str]:
    """bundelassistent://open?bsn=…&birth_date=… becomes `open --bsn … --birth-date …`."""
    parts = urlsplit(url)
    action = (parts.netloc or parts.path.strip("/")).lower()
    if action != "open":
        raise UserError(f"onbekende opdracht in de link: {action or '(leeg)'}; "
                        "alleen bundelassistent://open wordt ondersteund")
    arguments = ["open"]
    for key, values in parse_qs(parts.query).items():
        if key in URL_KEYS:
            arguments += [URL_KEYS[key], values[-1]]
    return arguments


PATIENT_KEYS = ("bsn", "birth_date", "patient_id", "name")
PATIENT_ALIASES = {"birthdate": "birth_date", "geboortedatum": "birth_date", "naam": "name"}
MAX_CONTEXT_BYTES = 64 * 1024


def _patient_context(args: argparse.Namespace) -> dict[str, str]:
    """The patient the EHR passes: from --bsn … flags, standard input or a launch file."""
    flags = {"bsn": args.bsn, "birth_date": args.birth_date, "patient_id": args.patient_id, "name": args.name}
    if not (args.stdin or args.launch_file):
        return {key: value.strip() for key, value in flags.items()}
    if any(flags.values()):
        raise UserError("geef de patiënt óf met --bsn/--birth-date/… óf met --stdin/--launch-file, niet beide")
    if args.stdin:
        data = sys.stdin.buffer.read(MAX_CONTEXT_BYTES + 1)
        return parse_patient_context(data.decode("utf-8-sig", errors="replace"), "stdin")
    return parse_patient_context(read_launch_file(args.launch_file), args.launch_file.name)


def read_launch_file(path: Path) -> str:
    """Read the EHR's launch file and remove it: it holds a BSN and is meant for one use.

    Refused (and left alone) when it is not a regular file of this user; refused and
    removed when others may read it. On Windows the folder's ACL protects it (keep it in
    the user's profile).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise UserError(f"{path}: startbestand bestaat niet") from None
    except OSError as error:
        raise UserError(f"{path}: startbestand kan niet gelezen worden ({error.strerror}); "
                        "een snelkoppeling (symlink) wordt niet gevolgd") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{path}: startbestand is geen gewoon bestand")
        if os.name == "posix" and info.st_uid != os.getuid():
            raise UserError(f"{path}: startbestand is van een andere gebruiker (eigenaar {info.st_uid}); geweigerd")
        if os.name == "posix" and info.st_mode & 0o077:
            path.unlink(missing_ok=True)
            raise UserError(f"{path}: startbestand was ook voor anderen leesbaar ({stat.filemode(info.st_mode)}); "
                            "geweigerd en verwijderd — laat het EPD het bestand met rechten 600 schrijven")
        data = file.read(MAX_CONTEXT_BYTES + 1)
    path.unlink(missing_ok=True)
    return data.decode("utf-8-sig", errors="replace")


def parse_patient_context(text: str, source: str) -> dict[str, str]:
    """A JSON object, or `key=value` lines (# comments and blank lines ignored); unknown keys are ignored."""
    if len(text.encode("utf-8", "replace")) > MAX_CONTEXT_BYTES:
        raise UserError(f"{source}: patiëntgegevens groter dan {MAX_CONTEXT_BYTES // 1024} kB")
    text = text.lstrip("\ufeff").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(f"{source}: geen geldige JSON "
                            f"(regel {error.lineno}, kolom {error.colno}: {error.msg})") from None
        if not isinstance(data, dict):
            raise UserError(f"{source}: verwacht een JSON-object met bsn, birth_date, …")
        pairs = list(data.items())
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, equals, value = line.partition("=")
            if not equals:
                raise UserError(f"{source} regel {number}: verwacht sleutel=waarde, bijvoorbeeld bsn=123456782")
            pairs.append((key, value))
    context = dict.fromkeys(PATIENT_KEYS, "")
    for key, value in pairs:
        key = str(key).strip().lower().replace("-", "_")
        key = PATIENT_ALIASES.get(key, key)
        if key in context:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise UserError(f"{source}: {key} moet tekst zijn")
            context[key] = str(value).strip()
    if not any(context.values()):
        raise UserError(f"{source}: geen patiëntgegevens gevonden (bsn, birth_date, patient_id, name)")
    return context


def cmd_self_test(args, settings) -> int:
    from desktop.operations import selftest

    checks = list(selftest.DEFAULT_CHECKS)
    if not args.no_window:
        from desktop.ui.app import check_window

        checks.append(("Venster (Qt)", check_window))
    results = selftest.run(settings, checks)
    print(selftest.report(results, settings))
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED


def _start_logging(settings: config.Settings, what: str) -> None:
    """The window calls this once it is shown: the log file's handler costs start-up time."""
    from desktop import logs

    logs.configure(settings.log_level, settings.log_dir)
    log.info("start: %s", what)


def _with_storage_errors(args, settings: config.Settings) -> int:
    """Run a command; a storage fault becomes its own message (disk full is not damage)."""
    from desktop.operations.failures import FAULTS, describe
    from desktop.operations.register_file import register_path

    register = register_path(settings.data_dir)
    try:
        if args.command in STORE_COMMANDS:
            return STORE_COMMANDS[args.command](args, settings)
        from desktop.operations.services import Services  # not before: the window path must start fast

        services = Services(settings)
        try:
            return COMMANDS[args.command](args, services)
        finally:
            services.close()
    except BrokenPipeError:
        raise
    except FAULTS as error:
        if isinstance(error, OSError) and error.filename and Path(error.filename).parent != register.parent:
            raise UserError(f"{error.filename}: {error.strerror}") from None
        raise UserError(str(describe(error, register))) from None


def _never_fail_on_characters() -> None:
    """A console or pipe in a legacy code page (Windows cp1252) must not crash on a name like 'Łucja'."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _show_notices(settings: config.Settings) -> None:
    for notice in settings.notices:
        print(f"waarschuwing: {notice}", file=sys.stderr)
        log.warning("%s", notice)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _never_fail_on_characters()
    if "--self-test" in argv:  # the flag form of the brief, for installers
        argv = ["self-test" if a == "--self-test" else a for a in argv]
    url = next((a for a in argv if a.lower().startswith("bundelassistent:")), None)
    if url:
        try:
            argv = [a for a in argv if a != url] + url_to_arguments(url)
        except UserError as error:
            print(f"fout: {error}", file=sys.stderr)
            return EXIT_USAGE
    for position, argument in enumerate(argv, start=1):
        try:  # bytes that are not UTF-8 (a Linux shell) arrive as lone surrogates; SQLite cannot store them
            textfiles.check_characters(argument)
        except textfiles.TextFileError as error:
            print(f"fout: argument {position} op de opdrachtregel {error}; typ het opnieuw", file=sys.stderr)
            return EXIT_USAGE
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command in (None, "open"):
            from desktop.ui.app import run_window

            patient = _patient_context(args) if args.command == "open" else None

            def start_logging() -> None:
                _start_logging(settings, "venster")
                _show_notices(settings)

            return run_window(settings, patient, start_logging=start_logging)
        _start_logging(settings, args.command)
        _show_notices(settings)
        if args.command == "self-test":
            return cmd_self_test(args, settings)
        return _with_storage_errors(args, settings)
    except UserError as error:
        print(f"fout: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
