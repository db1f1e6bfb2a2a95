"""Time until the main window is mapped under a real X server, against a bare PySide6 window.

Budget (brief §10): within 1.5x the bare window, measured in the same run. Needs Xvfb
and xdotool (Debian packages xvfb, xdotool, libxcb-cursor0). Each launch is a fresh
process; the time runs from process start until xdotool sees the window mapped.

When the frozen one-folder build exists (scripts/build → dist/Bundelassistent, or the
folder given as the first argument), it is timed in the same rounds and its size on disk
is reported: budget (issue 6) ≤ 2x the source run and ≤ 350 MB.

Both sides run with compiled bytecode, as an installed app does (pip and the frozen build
ship it): the launches write and read it in a cache folder of this run (PYTHONPYCACHEPREFIX,
filled by the warm-up launches; PYTHONDONTWRITEBYTECODE dropped). Otherwise every launch
would compile the project's sources while the baseline loads PySide6's compiled ones.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
BARE = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.setWindowTitle("BareQtWindow")
window.resize(1200, 780)
window.show()
app.exec()
"""


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            display = f":{number}"
            server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(200):  # the socket appears before Xvfb accepts clients: wait for one to get in
                if Path(f"/tmp/.X11-unix/X{number}").exists() and subprocess.run(
                        ["xdotool", "getmouselocation"], env={**os.environ, "DISPLAY": display},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                    return server, display
                time.sleep(0.05)
            server.kill()
    raise SystemExit("could not start Xvfb")


def time_to_map(command: list[str], title: str, env: dict) -> float:
    """Seconds until the window is mapped. A launch that dies before it (on a loaded machine
    Xvfb sometimes refuses a client: "could not load the Qt platform plugin xcb") says
    nothing about start-up time and is started again, at most twice."""
    for _attempt in range(3):
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Poll ourselves: `xdotool search --sync` sleeps half a second between tries.
            while time.perf_counter() - start < 60 and process.poll() is None:
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                                       env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                if found.stdout.strip():
                    return time.perf_counter() - start
                time.sleep(0.005)
            if process.poll() is None:
                raise SystemExit(f"window {title!r} did not appear within 60 s")
            print(f"({title} exited with code {process.returncode} before its window appeared; started again)")
        finally:
            process.kill()
            process.wait()
    raise SystemExit(f"{title!r} exited before its window appeared, three times")


def folder_mib(folder: Path) -> float:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 2**20


def main() -> None:
    frozen_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "Bundelassistent"
    frozen = [str(frozen_dir / "bundelassistent")] if (frozen_dir / "bundelassistent").is_file() else None
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        raise SystemExit("needs Xvfb and xdotool: apt-get install xvfb xdotool libxcb-cursor0")
    server, display = start_xvfb()
    data_dir = tempfile.mkdtemp()
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp()  # nothing written into the source tree
    app = [sys.executable, "-m", "desktop", "--data-dir", data_dir]
    bare, ours, ours_frozen = [], [], []
    try:
        time_to_map([sys.executable, "-c", BARE], "BareQtWindow", env)  # warm the file cache
        time_to_map(app, "Bundelassistent", env)
        if frozen:
            time_to_map(frozen + ["--data-dir", data_dir], "Bundelassistent", env)
        for _ in range(ROUNDS):
            bare.append(time_to_map([sys.executable, "-c", BARE], "BareQtWindow", env))
            ours.append(time_to_map(app, "Bundelassistent", env))
            if frozen:
                ours_frozen.append(time_to_map(frozen + ["--data-dir", data_dir], "Bundelassistent", env))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(env["PYTHONPYCACHEPREFIX"], ignore_errors=True)
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    ratio = ours_median / bare_median
    print(f"{'window mapped (median of ' + str(ROUNDS) + ')':40} {'seconds':>8}")
    print(f"{'bare PySide6 window (baseline)':40} {bare_median:8.3f}")
    print(f"{'Bundelassistent main window':40} {ours_median:8.3f}")
    print(f"ratio {ratio:.2f}x (budget ≤ 1.5x){'' if ratio <= 1.5 else '  OVER BUDGET'}")
    if frozen:
        frozen_median = statistics.median(ours_frozen)
        frozen_ratio = frozen_median / ours_median
        size = folder_mib(frozen_dir)
        print(f"{'frozen one-folder app':40} {frozen_median:8.3f}")
        print(f"frozen vs source run {frozen_ratio:.2f}x (budget ≤ 2x){'' if frozen_ratio <= 2 else '  OVER BUDGET'}")
        print(f"one-folder size {size:.0f} MiB (budget ≤ 350){'' if size <= 350 else '  OVER BUDGET'}")
    else:
        print(f"(no frozen build in {frozen_dir}: run scripts/build to time it too)")


if __name__ == "__main__":
    main()
