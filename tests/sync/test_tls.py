"""TLS is verified: a server with a certificate from an unknown CA is refused, and trusted
once IT points `ca_bundle` at that CA. A real uvicorn server with TLS on 127.0.0.1."""

import os
import shutil
import subprocess
import sys
import time

import pytest
import requests

from helpers import CLI
from serverproc import REPO, free_port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_server(tmp_path):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Test ziekenhuis CA", cwd=tmp_path)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=tmp_path)
    database = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    env = dict(os.environ, BUNDELASSISTENT_SERVER_DATABASE=database)
    subprocess.run([sys.executable, "-m", "sync.server.cli", "--database", database, "migrate"], check=True,
                   capture_output=True, cwd=REPO, env=env)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sync.server.app:app_from_environment", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--ssl-keyfile", str(tmp_path / "server.key"), "--ssl-certfile",
         str(tmp_path / "server.pem")], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/v1/health", verify=str(tmp_path / "ca.pem"), timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    code = subprocess.run([sys.executable, "-m", "sync.server.cli", "--database", database, "enroll-code"],
                          capture_output=True, text=True, check=True, cwd=REPO, env=env).stdout.split()[-1]
    yield url, code, tmp_path / "ca.pem"
    process.terminate()
    process.wait(timeout=20)


def run(tmp_path, *args):
    return subprocess.run([*CLI, "--data-dir", str(tmp_path / "data"), *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_an_unknown_certificate_authority_is_refused_with_advice(tmp_path, tls_server):
    url, code, _ = tls_server
    result = run(tmp_path, "enroll", "--server", url, "--code", code)
    assert result.returncode == 2
    assert "certificaat niet vertrouwd" in result.stderr and "CA-certificaat" in result.stderr


def test_the_hospital_ca_from_the_configuration_is_trusted(tmp_path, tls_server):
    url, code, ca = tls_server
    config = tmp_path / "config.toml"
    config.write_text(f'ca_bundle = "{ca}"\n', encoding="utf-8")
    enrolled = run(tmp_path, "--config", config, "enroll", "--server", url, "--code", code)
    assert enrolled.returncode == 0, enrolled.stderr
    synced = run(tmp_path, "--config", config, "sync", "--once")
    assert synced.returncode == 0, synced.stdout + synced.stderr
