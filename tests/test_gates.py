"""The lint gate as a test, so `scripts/test` (and CI, which runs only that) fails the
moment the code stops being clean.

ruff runs as a subprocess with this virtualenv's interpreter and the settings in
`pyproject.toml`; a failure shows its own report.
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
