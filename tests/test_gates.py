"""The lint and type gates as tests, so `scripts/test` (and CI, which runs only that) fails
the moment the code stops being clean.

ruff and mypy run as subprocesses with this virtualenv's interpreter and the settings in
`pyproject.toml`; a failure shows their own report. mypy keeps its cache inside the
virtualenv, so after the first run (about a minute on a clean clone) it takes seconds.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    cache = Path(sys.prefix) / "mypy-cache"
    result = run("mypy", "--cache-dir", str(cache), "--no-error-summary", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
