"""The frozen one-folder app, built from this checkout with the documented command.

Slow (a PyInstaller build takes minutes), so it is marked `frozen`: CI runs it with the
rest; `scripts/test -m "not frozen"` leaves it out while iterating.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import REPO

pytestmark = pytest.mark.frozen
SIZE_LIMIT_MB = 350


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory):
    out = tmp_path_factory.mktemp("frozen")
    env = dict(os.environ, BUNDELASSISTENT_DIST=str(out / "dist"), BUNDELASSISTENT_BUILD=str(out / "build"))
    result = subprocess.run(["bash", str(REPO / "scripts" / "build")], capture_output=True, text=True,
                            timeout=1800, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "dist" / "Bundelassistent"


def folder_size_mb(folder: Path) -> float:
    """Bytes on disk as an installer copies them: symlinked libraries count once."""
    files = [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]
    return sum(path.stat().st_size for path in files) / 2**20


def test_the_one_folder_build_stays_within_the_size_limit(frozen_app):
    assert (frozen_app / "bundelassistent").is_file()
    assert folder_size_mb(frozen_app) <= SIZE_LIMIT_MB


def test_the_frozen_app_passes_its_self_test_offscreen_with_a_real_keyring(frozen_app, tmp_path):
    if not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")):
        pytest.fail("dbus and gnome-keyring are needed (scripts/test installs them)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "share"))
    env.pop("PYTHON_KEYRING_BACKEND")  # the frozen app uses the OS keyring, not the tests' file backend
    result = subprocess.run([str(REPO / "scripts" / "with-keyring"), str(frozen_app / "bundelassistent"),
                             "self-test"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Alle controles geslaagd." in result.stdout
    assert "SecretService" in result.stdout


def test_the_frozen_app_does_its_job_not_only_its_self_test(frozen_app, tmp_path):
    case = tmp_path / "case.json"
    case.write_text('{"bundle": "hand-wrist", "inclusion_date": "2025-03-14", "birth_date": "1971-06-02",'
                    ' "diagnosis": "M18.1", "side": "L", "insurer_uzovi": "3311"}', encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path))
    result = subprocess.run([str(frozen_app / "bundelassistent"), "--data-dir", str(tmp_path / "data"),
                             "check-eligibility", "--json", str(case)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert '"status": "eligible"' in result.stdout
