"""The lint and type gates as tests, so `scripts/test` (and CI, which runs only that) fails
the moment the code stops being clean.

ruff and mypy run as subprocesses with this virtualenv's interpreter and the settings in
`pyproject.toml`; a failure shows their own report. mypy keeps its cache in the system's
temp folder (per checkout), so a second run takes seconds.
"""

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", ".", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
