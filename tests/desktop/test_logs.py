"""Logs rotate in the log directory, follow --log-level and never hold a BSN."""

import json
import logging
import subprocess

from desktop import logs
from helpers import CLI, valid_bsns

BSN, = valid_bsns(1)


def test_redaction_removes_nine_digit_numbers_but_keeps_other_numbers():
    text = f"patiënt {BSN} op 2025-03-14, 12 regels, AGB 12345678, id 1234567890"
    cleaned = logs.redact(text)
    assert BSN not in cleaned
    assert "2025-03-14" in cleaned and "12345678" in cleaned and "1234567890" in cleaned


def test_a_logged_exception_that_quotes_a_bsn_is_redacted(tmp_path):
    log_file = logs.configure("INFO", tmp_path / "log", console=False)
    try:
        try:
            raise ValueError(f"onbekende patiënt {BSN}")
        except ValueError:
            logging.getLogger("bundelassistent.test").exception("opslaan mislukt voor %s", BSN)
        for handler in logging.getLogger().handlers:
            handler.flush()
        written = log_file.read_text(encoding="utf-8")
        assert "opslaan mislukt" in written and "ValueError" in written
        assert BSN not in written
    finally:
        logs.configure("WARNING", None, console=False)


def test_the_command_line_logs_to_the_file_at_the_chosen_level_without_identifiers(tmp_path):
    case = {"bundle": "hand-wrist", "bsn": BSN, "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",
            "diagnosis": "G56.0", "side": "R", "insurer_uzovi": "3311"}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'log_dir = "{tmp_path / "logs"}"\n', encoding="utf-8")
    result = subprocess.run([*CLI, "--config", config, "--data-dir", tmp_path / "data", "--log-level", "debug",
                             "check-eligibility", "--json", path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "logs" / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "start: check-eligibility" in written
    assert BSN not in written and BSN not in result.stderr


def test_an_unusable_log_directory_falls_back_to_stderr(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert logs.configure("INFO", blocker / "log", console=False) is None
    logs.configure("WARNING", None, console=False)
