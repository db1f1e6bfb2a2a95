"""The self-test checks the configured server and this device's token against a real server."""

import subprocess

from helpers import CLI


def self_test(tmp_path, *args):
    return subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "self-test", "--no-window", *args],
                          capture_output=True, text=True, timeout=120)


def server_line(output):
    [line] = [line for line in output.splitlines() if "Centrale server" in line]
    return line


def test_enrolled_device_passes_and_a_revoked_one_fails(tmp_path, server):
    enrolled = subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), "enroll", "--server", server.url,
                               "--code", server.enroll_code()], capture_output=True, text=True, timeout=60)
    assert enrolled.returncode == 0, enrolled.stderr
    passed = self_test(tmp_path)
    assert passed.returncode == 0, passed.stdout
    assert "apparaattoken geldig" in server_line(passed.stdout)
    device_id = enrolled.stdout.split("apparaat ")[1].split(";")[0]
    server.admin("revoke", device_id)
    failed = self_test(tmp_path)
    assert failed.returncode == 1
    assert server_line(failed.stdout).startswith("FOUT") and "ingetrokken" in server_line(failed.stdout)


def test_an_unreachable_or_unenrolled_server_fails_with_what_to_do(tmp_path, server):
    config = tmp_path / "config.toml"
    config.write_text(f'server_url = "{server.url}"\n', encoding="utf-8")
    not_enrolled = self_test(tmp_path, "--config", config)
    assert not_enrolled.returncode == 1 and "niet aangemeld" in server_line(not_enrolled.stdout)
    server.stop()
    down = self_test(tmp_path, "--config", config)
    assert down.returncode == 1 and "niet bereikbaar" in server_line(down.stdout)
