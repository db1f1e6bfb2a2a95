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
from typing import NoReturn

from desktop import config, textfiles
from desktop.core.messages import msg, text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("bundelassistent")


LANGUAGE = "nl"  # the command line speaks Dutch; its lines are in resources/messages/cli.*.toml


def say(key: str, /, **params: object) -> str:
    """One of the CLI's lines, filled in (messages named as parameters are read in Dutch too)."""
    return text(key, LANGUAGE, **params)


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def _global_options(parser: argparse.ArgumentParser, suppress: bool, helped: bool = True) -> None:
    default = argparse.SUPPRESS if suppress else None

    def helping(key: str) -> str | None:
        return say(key) if helped else None

    parser.add_argument("--data-dir", type=Path, default=default, help=helping("cli.help.parser_data_dir"))
    parser.add_argument("--bundles-dir", type=Path, default=default, help=helping("cli.help.parser_bundles_dir"))
    parser.add_argument("--config", type=Path, default=default, help=helping("cli.help.parser_config"))
    parser.add_argument("--log-level", choices=config.LOG_LEVELS, type=str.upper, default=default)


class _NotTheWindow(Exception):
    pass


class _WindowOptions(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # any doubt: the full parser decides and explains
        raise _NotTheWindow(message)


def window_arguments(argv: list[str]) -> argparse.Namespace | None:
    """The window started without a command (the desktop shortcut): only the global options,
    without building the parser of every command and its help texts (bench_window). None for
    anything else, which the full parser reads and, where wrong, explains."""
    if any(argument.startswith("-h") or argument == "--help" for argument in argv):
        return None
    parser = _WindowOptions(add_help=False, exit_on_error=False)
    _global_options(parser, suppress=False, helped=False)  # it never prints help: not even the CLI's texts
    try:
        args, rest = parser.parse_known_args(argv)
    except (_NotTheWindow, argparse.ArgumentError):
        return None
    if rest:
        return None
    args.command = None
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bundelassistent",
        description=say("cli.help.description"))
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar=say("cli.help.command_metavar"))

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, suppress=True)
        return sub

    check = command("check-eligibility", say("cli.help.check_eligibility"))
    check.add_argument("--json", dest="case_file", required=True, metavar="CASE.json",
                       help=say("cli.help.check_json"))
    predict = command("predict", say("cli.help.predict"))
    predict.add_argument("--json", dest="case_file", required=True, metavar="CASE.json",
                         help=say("cli.help.predict_json"))
    register = command("register", say("cli.help.register"))
    register.add_argument("--jsonl", dest="jsonl_file", required=True, metavar="FILE",
                          help=say("cli.help.register_jsonl"))
    listing = command("inclusions", say("cli.help.inclusions"))
    listing.add_argument("--json", action="store_true", help=say("cli.help.listing_json"))
    listing.add_argument("--with-identifiers", action="store_true",
                         help=say("cli.help.listing_with_identifiers"))
    command("validate-bundles", say("cli.help.validate_bundles"))
    intake = command("intake", say("cli.help.intake"))
    intake.add_argument("--bsn", required=True)
    intake.add_argument("--birth-date", required=True, metavar="JJJJ-MM-DD")
    intake.add_argument("--on", default=None, metavar="JJJJ-MM-DD",
                        help=say("cli.help.intake_on"))
    intake.add_argument("--json", action="store_true", help=say("cli.help.intake_json"))
    opener = command("open", say("cli.help.open"))
    opener.add_argument("--bsn", default="")
    opener.add_argument("--birth-date", default="")
    opener.add_argument("--patient-id", default="")
    opener.add_argument("--name", default="")
    source = opener.add_mutually_exclusive_group()
    source.add_argument("--stdin", action="store_true",
                        help=say("cli.help.source_stdin"))
    source.add_argument("--launch-file", type=Path, metavar="FILE",
                        help=say("cli.help.source_launch_file"))
    enroller = command("enroll", say("cli.help.enroll"))
    enroller.add_argument("--server", required=True, metavar="URL", help=say("cli.help.enroller_server"))
    enroller.add_argument("--code", required=True, help=say("cli.help.enroller_code"))
    syncer = command("sync", say("cli.help.sync"))
    syncer.add_argument("--once", action="store_true", required=True, help=say("cli.help.syncer_once"))
    backup = command("backup", say("cli.help.backup"))
    backup.add_argument("--to", dest="target", required=True, type=Path, metavar="FILE", help=say("cli.help.backup_to"))
    restore = command("restore", say("cli.help.restore"))
    restore.add_argument("backup_file", type=Path, metavar="FILE", help=say("cli.help.restore_backup_file"))
    restore.add_argument("--overwrite-unsynced", action="store_true",
                         help=say("cli.help.restore_overwrite_unsynced"))
    recover = command("recover-key", say("cli.help.recover_key"))
    recover.add_argument("--backup", type=Path, default=None, metavar="FILE",
                         help=say("cli.help.recover_backup"))
    fresh = command("new-register", say("cli.help.new_register"))
    fresh.add_argument("--confirm", action="store_true", required=True, help=say("cli.help.fresh_confirm"))
    selftest = command("self-test", say("cli.help.self_test"))
    selftest.add_argument("--no-window", action="store_true", help=say("cli.help.selftest_no_window"))
    withdraw = command("withdraw", say("cli.help.withdraw"))
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
        raise UserError(say("cli.file_problem", file=path_text, problem=error)) from None


def _read_json(path_text: str) -> tuple[object, str]:
    """A JSON file (or `-`, standard input) and its name for messages; unusable input is a UserError."""
    data, name = _read_bytes(path_text)
    try:
        return textfiles.parse_json(textfiles.decode(data)), name
    except textfiles.TextFileError as error:
        raise UserError(say("cli.file_problem", file=name, problem=error)) from None


def cmd_check_eligibility(args, services) -> int:
    from desktop.core.inputs import InputError, parse_case

    data, name = _read_json(args.case_file)
    try:
        case, bundle = parse_case(data, services.bundles)
    except InputError as error:
        raise UserError(say("cli.file_problem", file=name, problem=error.message)) from None
    decision = services.check(case, bundle)
    print(json.dumps(decision.as_dict(), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_predict(args, services) -> int:
    from desktop.core.inputs import InputError
    from desktop.operations import prediction

    data, name = _read_json(args.case_file)
    try:
        question = prediction.parse_question(data, services.bundles, services.today())
    except InputError as error:
        raise UserError(say("cli.file_problem", file=name, problem=error.message)) from None
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
            print(say("cli.line_failed", file=name, line=number, problem=error), file=sys.stderr, flush=True)
            log.warning("register: regel %d niet geregistreerd: %s", number, error)
            continue
        print(record["id"], flush=True)  # only now: the transaction has committed durably
        log.info("register: regel %d geregistreerd als %s", number, record["id"])
    if failed:
        print(say("cli.lines_failed", count=failed), file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _register_line(line: str | textfiles.TextFileError, services) -> dict:
    from desktop.core.inputs import InputError, parse_inclusion
    from desktop.operations.failures import NotEligible

    try:
        if isinstance(line, textfiles.TextFileError):
            raise line
        data = textfiles.parse_json(line)
    except textfiles.TextFileError as error:
        raise UserError(str(error)) from None
    if isinstance(data, dict) and "decision_support" in data:
        raise UserError(say("cli.register.decision_support_given"))
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
        raise UserError(error.text(LANGUAGE)) from None
    except NotEligible as error:
        raise UserError(say("cli.not_eligible", status=error.decision.status, reasons=error.message)) from None


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
        key = "cli.bundles.valid_active" if bundle.active else "cli.bundles.valid_inactive"
        print(say(key, bundle=bundle.id, version=bundle.version, file=bundle.source.name))
    for path, problems in sorted(report.errors.items()):
        print(say("cli.bundles.invalid", file=path.name))
        for problem in problems:
            print(say("cli.bundles.problem", file=path.name, problem=problem))
    if not report.bundles and not report.errors:
        print(say("cli.bundles.none"))
        return EXIT_FAILED
    for end in services.contract_ends():  # the bundles in use, with those the server sent
        print(say("cli.bundles.contract_ended" if end.ended else "cli.bundles.contract_ends", message=end.message()))
    return EXIT_FAILED if report.errors else EXIT_OK


def cmd_withdraw(args, services) -> int:
    from desktop.operations.failures import InvalidChange, RecordNotFound

    try:
        record = services.registry.withdraw(args.inclusion_id, args.reason)
    except (RecordNotFound, InvalidChange) as error:
        raise UserError(error.text(LANGUAGE)) from None
    print(say("cli.withdrawn", inclusion=record["id"], revision=record["revision"]))
    return EXIT_OK


INTAKE_LABELS = {"bsn": msg("cli.intake.bsn"), "birth_date": msg("cli.intake.birth_date"), "on": msg("cli.intake.on")}


def _intake_question(args, today) -> tuple:
    """BSN, birth date and consultation date from the command line, checked before anything is asked."""
    from desktop.core.identifiers import OLDEST_PLAUSIBLE_AGE, InvalidField, age_on, parse_date, validate_bsn

    try:
        bsn = validate_bsn(args.bsn, "bsn")
        on = parse_date(args.on, "on") if args.on is not None else today
        born = parse_date(args.birth_date, "birth_date")
        if born > on:
            raise InvalidField("birth_date", msg("cli.intake.born_after_consultation"))
        if age_on(born, on) > OLDEST_PLAUSIBLE_AGE:
            raise InvalidField("birth_date", msg("core.invalid.too_old", years=OLDEST_PLAUSIBLE_AGE))
    except InvalidField as error:  # named by the option the user typed
        raise UserError(InvalidField(error.field, error.message, INTAKE_LABELS[error.field]).text(LANGUAGE)) from None
    return bsn, born, on


def cmd_intake(args, services) -> int:
    from desktop.core.states import IntakeSource

    bsn, born, on = _intake_question(args, services.today())
    found = services.lookup_intake(bsn, born, on)
    if args.json:
        print(json.dumps(found.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    if found.source == IntakeSource.NONE:
        print(say("cli.intake.none", message=found.message))
        return EXIT_OK
    print(say("cli.intake.found", day=found.completed_on.isoformat() if found.completed_on else "?",
              message=found.message))
    for name, value in found.values.items():
        print(f"  {name}: {value}")
    return EXIT_OK


def cmd_enroll(args, services) -> int:
    from desktop.operations.failures import SyncError

    try:
        answer = services.enroll(args.server, args.code)
    except SyncError as error:
        raise UserError(say("cli.enroll.failed", problem=error)) from None
    print(say("cli.enroll.done", server=services.server_url(), device=answer.device_id))
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
        raise UserError(say("cli.backup.exists", file=args.target)) from None
    print(say("cli.backup.done", file=args.target, megabytes=size / 1e6))
    return EXIT_OK


def cmd_restore(args, settings) -> int:
    from desktop.operations import register_file

    try:
        info, kept = register_file.restore(settings.data_dir, args.backup_file, args.overwrite_unsynced)
    except register_file.BackupError as error:
        raise UserError(error.text(LANGUAGE)) from None
    print(say("cli.restore.done", file=args.backup_file, records=info.records, unsynced=info.unsynced))
    if kept:
        print(say("cli.restore.kept", file=kept))
    return EXIT_OK


def cmd_recover_key(args, settings) -> int:
    import getpass

    from desktop.operations import register_file

    if sys.stdin.isatty():
        key = getpass.getpass(say("cli.recover.prompt"))
    else:
        key = sys.stdin.readline()
    try:
        info = register_file.recover_key(settings.data_dir, key, args.backup)
    except register_file.BackupError as error:
        raise UserError(error.text(LANGUAGE)) from None
    print(say("cli.recover.done", device=info.device_id, records=info.records))
    return EXIT_OK


def cmd_new_register(args, settings) -> int:
    from desktop.operations import register_file

    device_id, kept = register_file.new_register(settings.data_dir)
    print(say("cli.new_register.done", device=device_id))
    if kept:
        print(say("cli.new_register.kept", file=kept))
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
    from urllib.parse import parse_qs, urlsplit  # only for a launch by URL: not on the window's path

    parts = urlsplit(url)
    action = (parts.netloc or parts.path.strip("/")).lower()
    if action != "open":
        raise UserError(say("cli.link.unknown", action=action) if action else say("cli.link.empty"))
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
        raise UserError(say("cli.patient.twice"))
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
        raise UserError(say("cli.launch.missing", file=path)) from None
    except OSError as error:
        raise UserError(say("cli.launch.unreadable", file=path, problem=error.strerror)) from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UserError(say("cli.launch.not_a_file", file=path))
        if os.name == "posix" and info.st_uid != os.getuid():
            raise UserError(say("cli.launch.other_owner", file=path, owner=info.st_uid))
        if os.name == "posix" and info.st_mode & 0o077:
            path.unlink(missing_ok=True)
            raise UserError(say("cli.launch.readable_by_others", file=path, mode=stat.filemode(info.st_mode)))
        data = file.read(MAX_CONTEXT_BYTES + 1)
    path.unlink(missing_ok=True)
    return data.decode("utf-8-sig", errors="replace")


def parse_patient_context(text: str, source: str) -> dict[str, str]:
    """A JSON object, or `key=value` lines (# comments and blank lines ignored); unknown keys are ignored."""
    if len(text.encode("utf-8", "replace")) > MAX_CONTEXT_BYTES:
        raise UserError(say("cli.patient.too_big", source=source, kilobytes=MAX_CONTEXT_BYTES // 1024))
    text = text.lstrip("\ufeff").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(say("cli.patient.bad_json", source=source, line=error.lineno, column=error.colno,
                                problem=error.msg)) from None
        if not isinstance(data, dict):
            raise UserError(say("cli.patient.not_object", source=source))
        pairs = list(data.items())
    else:
        pairs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, equals, value = line.partition("=")
            if not equals:
                raise UserError(say("cli.patient.not_key_value", source=source, line=number))
            pairs.append((key, value))
    context = dict.fromkeys(PATIENT_KEYS, "")
    for key, value in pairs:
        key = str(key).strip().lower().replace("-", "_")
        key = PATIENT_ALIASES.get(key, key)
        if key in context:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise UserError(say("cli.patient.not_text", source=source, key=key))
            context[key] = str(value).strip()
    if not any(context.values()):
        raise UserError(say("cli.patient.none", source=source))
    return context


def cmd_self_test(args, settings) -> int:
    from desktop.operations import selftest

    checks = list(selftest.DEFAULT_CHECKS)
    if not args.no_window:
        from desktop.ui.app import check_window

        checks.append((say("cli.self_test.window"), check_window))
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
            raise UserError(say("cli.file_problem", file=error.filename, problem=error.strerror)) from None
        raise UserError(describe(error, register).text(LANGUAGE)) from None


def _never_fail_on_characters() -> None:
    """A console or pipe in a legacy code page (Windows cp1252) must not crash on a name like 'Łucja'."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def _show_notices(settings: config.Settings) -> None:
    for notice in settings.notices:
        print(say("cli.warning", notice=notice), file=sys.stderr)
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
            print(say("cli.error", problem=error), file=sys.stderr)
            return EXIT_USAGE
    for position, argument in enumerate(argv, start=1):
        try:  # bytes that are not UTF-8 (a Linux shell) arrive as lone surrogates; SQLite cannot store them
            textfiles.check_characters(argument)
        except textfiles.TextFileError as error:
            print(say("cli.bad_argument", position=position, problem=error), file=sys.stderr)
            return EXIT_USAGE
    args = window_arguments(argv) or build_parser().parse_args(argv)
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
        print(say("cli.error", problem=error), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
