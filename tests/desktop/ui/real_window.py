"""The window under a real X server and window manager, as `scripts/real-window-walkthrough` runs it.

    python real_window.py SCREENSHOT_FOLDER

Per screen (1366×768 at 100 % and 125 %, 1920×1080 at 150 %) and language: Xvfb and openbox
start, the app is launched as the EHR launches it, the window's frame is measured against the
screen, and xdotool types the consultation from the launch to the saved inclusion with the
same keys `test_keyboard_flow.py` counts. Every step is photographed after saving (Ctrl+1…6).
The saved record is read back with `bundelassistent inclusions --json`. Not a test of the
suite: it needs a display server and takes about a minute; the offscreen tests cover the
same ground in CI, this one checks them against a real window manager.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(TESTS)]

from helpers import valid_bsns  # noqa: E402

SCREENS = [(1366, 768, 1.0), (1366, 768, 1.25), (1920, 1080, 1.5)]
LANGUAGES = ("nl", "en")
BSN = valid_bsns(1, start=123400000)[0]
# The flow of test_keyboard_flow.py: (what, argument); "type" is text, "key" is keys counted.
FLOW = [("type", "3311"), ("key", "Tab Tab"), ("type", "G56.0"), ("key", "Tab Right space"),
        ("key", "ctrl+5"), ("type", "01234567"), ("key", "Tab Tab Tab Tab Tab space"), ("key", "ctrl+s")]
GRAB = ("import sys\nfrom PySide6.QtGui import QGuiApplication\napp = QGuiApplication([])\n"
        "sys.exit(0 if app.primaryScreen().grabWindow(0).save(sys.argv[1]) else 1)\n")


def x_tool(env: dict, *arguments: str) -> str:
    return subprocess.run(["xdotool", *arguments], env=env, capture_output=True, text=True,
                          timeout=30).stdout.strip()


def start_display(width: int, height: int) -> tuple[list[subprocess.Popen], dict]:
    for number in range(150, 250):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    env = {**os.environ, "DISPLAY": f":{number}"}
    server = subprocess.Popen(["Xvfb", env["DISPLAY"], "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    manager = subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return [manager, server], env


def app_environment(env: dict, work: Path, scale: float, language: str) -> dict:
    runtime = work / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {**env, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": str(scale), "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(work / "share"), "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "BUNDELASSISTENT_LANGUAGE": language, "BUNDELASSISTENT_LOCATION": "Utrecht"}


def grab(env: dict, path: Path) -> None:
    subprocess.run([sys.executable, "-c", GRAB, str(path)], env={**env, "QT_QPA_PLATFORM": "xcb"},
                   capture_output=True, timeout=60)


def frame_geometry(env: dict, window: str) -> dict[str, int]:
    """The window with the manager's frame around it (title bar, borders), in screen pixels."""
    info = subprocess.run(["xwininfo", "-id", window], env=env, capture_output=True, text=True, timeout=30).stdout
    values = {line.split(":")[0].strip(): line.split(":")[1].strip() for line in info.splitlines() if ":" in line}
    extents = subprocess.run(["xprop", "-id", window, "_NET_FRAME_EXTENTS"], env=env, capture_output=True,
                             text=True, timeout=30).stdout
    left, right, top, bottom = ([int(v) for v in extents.split("=")[1].split(",")] if "=" in extents
                                else [0, 0, 0, 0])
    return {"X": int(values["Absolute upper-left X"]) - left, "Y": int(values["Absolute upper-left Y"]) - top,
            "WIDTH": int(values["Width"]) + left + right, "HEIGHT": int(values["Height"]) + top + bottom}


def walk(width: int, height: int, scale: float, language: str, shots: Path) -> dict:
    work = Path(tempfile.mkdtemp())
    helpers, env = start_display(width, height)
    app_env = app_environment(env, work, scale, language)
    data = work / "data"
    app = subprocess.Popen([sys.executable, "-m", "desktop", "--data-dir", str(data), "open", "--bsn", BSN,
                            "--birth-date", "1971-06-02", "--name", "J. Jansen"], env=app_env,
                           stdout=subprocess.DEVNULL, stderr=open(work / "app.log", "w"))  # noqa: SIM115
    try:
        window = x_tool(env, "search", "--sync", "--onlyvisible", "--name", "^Bundelassistent$").split()[0]
        time.sleep(4)  # the models load and the step settles
        x_tool(env, "windowactivate", "--sync", window)
        frame = frame_geometry(env, window)
        prefix = f"{width}x{height}@{round(scale * 100)}-{language}"
        grab(env, shots / f"{prefix}-0-launch.png")
        keys = 0
        for what, argument in FLOW:
            if what == "type":
                x_tool(env, "type", "--delay", "40", argument)
            else:
                for key in argument.split():
                    x_tool(env, "key", key)
                    keys += 1
                    time.sleep(0.25)
        time.sleep(1.5)
        grab(env, shots / f"{prefix}-1-saved.png")
        for step in range(1, 7):
            x_tool(env, "key", f"ctrl+{step}")
            time.sleep(0.6)
            grab(env, shots / f"{prefix}-step{step}.png")
        listed = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data), "inclusions", "--json"],
                                env=app_env, capture_output=True, text=True, timeout=120)
        records = json.loads(listed.stdout) if listed.returncode == 0 else []
        fits = (frame["X"] >= 0 and frame["Y"] >= 0 and frame["X"] + frame["WIDTH"] <= width
                and frame["Y"] + frame["HEIGHT"] <= height)
        return {"screen": prefix, "window": frame, "fits": fits, "keys": keys,
                "saved": [(r["side"], r["clinician_agb"], r["initial_treatment"]) for r in records],
                "problem": "" if listed.returncode == 0 else listed.stderr.strip()}
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
        for process in helpers:
            process.terminate()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    shots = Path(sys.argv[1])
    results = [walk(width, height, scale, language, shots)
               for width, height, scale in SCREENS for language in LANGUAGES]
    for result in results:
        print(json.dumps(result, ensure_ascii=False))  # noqa: T201 (the report, read by hand)
    print(f"screenshots: {shots}")  # noqa: T201
    return 0 if all(result["fits"] and len(result["saved"]) == 1 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
