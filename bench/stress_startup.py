"""Start-up stress run: launch the window many times and count the launches that crash.

Each launch is the EHR hand-over a clinic does all day (`bundelassistent open --bsn …
--birth-date …`) in a fresh process with a fresh data folder, under a real X server
(Xvfb) unless `--offscreen`. It waits until xdotool sees the window mapped, waits until
the prediction models are loaded (the status bar's model state is "ready"), then
closes the window. A launch counts as crashed when the process dies of a signal (the
segmentation fault of issue 12: "Garbage-collecting" on the model-loading thread), and
as failed when it exits otherwise without having shown loaded models; a launch that
could not even connect to the X server is counted apart and tried again (a loaded
machine, not the app). With `PYTHONFAULTHANDLER=1` the Python stacks of a failed launch are kept in the
output folder.

    .venv/bin/python bench/stress_startup.py                  # 50 launches under Xvfb
    .venv/bin/python bench/stress_startup.py --source DIR     # the same, for the code in DIR

Budget (issue 12): 0 crashes in ≥ 50 launches. Needs xvfb and xdotool (Debian packages).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATIENT = ["--bsn", "111222333", "--birth-date", "1968-04-02"]  # a test BSN (11-proef), no real person
CHILD_TIMEOUT_S = 120
READY_STATES = {"ready", "gereed"}
FINAL_STATES = READY_STATES | {"unavailable", "niet beschikbaar"}
NO_X = "no X connection"  # Xvfb on a loaded machine now and then refuses a client: Qt never started


def child(data_dir: str, gc_threshold: int) -> int:
    """One launch, in this process: the real `main()` plus a probe that closes the window
    once its model state is final ("gereed" was the state before issue 12 named it)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.cli import main

    if gc_threshold:
        gc.set_threshold(gc_threshold)
    app = QApplication(sys.argv[:1])

    def probe() -> None:
        window = next((w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow"), None)
        state = str(getattr(window, "model_state", ""))
        if state in FINAL_STATES:
            timer.stop()
            print(f"models {state}", flush=True)
            QTimer.singleShot(100, window.close)

    timer = QTimer(interval=20, timeout=probe)
    timer.start()
    return main(["--data-dir", data_dir, "open", *PATIENT])


def window_seen(process: subprocess.Popen, env: dict) -> bool:
    """Whether xdotool finds the window mapped before the process ends (`search --sync`
    would wait for ever on a launch that crashed before its window appeared)."""
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Bundelassistent$"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if found.stdout.strip():
            return True
        time.sleep(0.05)
    return False


def launch(env: dict, source: Path, xvfb: bool, keep: Path, number: int, gc_threshold: int) -> str:
    """'ok', 'crash (SIGSEGV)', or why the launch failed otherwise."""
    data_dir = tempfile.mkdtemp(prefix="stress-startup-")
    stderr_path = keep / f"launch-{number:03d}.stderr"
    try:
        with open(stderr_path, "wb") as stderr:
            process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", data_dir,
                                        "--gc-threshold", str(gc_threshold)],
                                       cwd=source, env=env, stdout=subprocess.PIPE, stderr=stderr)
            seen = not xvfb or window_seen(process, env)
            try:
                output, _ = process.communicate(timeout=CHILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return "hung"
        code = process.returncode
        if b"could not connect to display" in stderr_path.read_bytes():
            stderr_path.unlink()
            return NO_X
        if code < 0:
            return f"crash ({signal.Signals(-code).name})"
        if code != 0:
            return f"exit code {code}"
        if not seen:
            return "no window seen"
        state = output.decode().partition("models ")[2].strip()
        if state not in READY_STATES:
            return f"models {state or 'never loaded'}"
        stderr_path.unlink()
        return "ok"
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=50)
    parser.add_argument("--source", type=Path, default=ROOT, help="folder with the code to launch (default: this one)")
    parser.add_argument("--offscreen", action="store_true", help="Qt's offscreen platform instead of Xvfb")
    parser.add_argument("--gc-threshold", type=int, default=0,
                        help="collect garbage far more often (gc.set_threshold) to provoke the crash sooner")
    parser.add_argument("--child", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(child(args.child, args.gc_threshold))

    source = args.source.resolve()
    keep = Path(tempfile.mkdtemp(prefix="stress-startup-output-"))
    # Own runtime folder: the single-instance socket lives there (per user), so a window another
    # session runs on this machine can neither take our patient nor lose its socket to us.
    runtime = tempfile.mkdtemp(prefix="stress-startup-runtime-")
    env = {**os.environ, "PYTHONPATH": str(source), "PYTHONFAULTHANDLER": "1", "XDG_RUNTIME_DIR": runtime}
    server = None
    if args.offscreen:
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        if not (shutil.which("Xvfb") and shutil.which("xdotool")):
            raise SystemExit("needs Xvfb and xdotool: apt-get install xvfb xdotool")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_window import start_xvfb

        server, display = start_xvfb()
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    outcomes: dict[str, int] = {}
    refused, number, start = 0, 0, time.perf_counter()
    try:
        while number < args.launches:
            outcome = launch(env, source, server is not None, keep, number + 1, args.gc_threshold)
            if outcome == NO_X:
                refused += 1  # tried again: it says nothing about the window
                continue
            number += 1
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            print(f"launch {number:3d}: {outcome}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(runtime, ignore_errors=True)
    crashes = sum(count for outcome, count in outcomes.items() if outcome.startswith("crash"))
    print(f"\n{args.launches} launches of {source} in {time.perf_counter() - start:.0f} s "
          f"({'offscreen' if args.offscreen else 'Xvfb'}"
          f"{f', gc threshold {args.gc_threshold}' if args.gc_threshold else ''}): "
          + ", ".join(f"{n}× {o}" for o, n in sorted(outcomes.items()))
          + (f"; {refused} more could not connect to the X server and were tried again" if refused else ""))
    print(f"crashes: {crashes} (budget 0)"
          + (f"; stderr of the failed launches in {keep}" if any(keep.iterdir()) else ""))
    if not any(keep.iterdir()):
        keep.rmdir()
    sys.exit(0 if outcomes.get("ok", 0) == args.launches else 1)


if __name__ == "__main__":
    main()
