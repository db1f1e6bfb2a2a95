"""Hand-off stress: hand answers from worker threads to the UI thread as fast as possible,
in the shape of the four workers before issue 12 and through `desktop/ui/background.py`,
and count the processes that die.

The start-up crash happens about once in ten launches, too rarely to study one launch at a
time; here the same hand-off runs thousands of times a second. Old shape: a QRunnable on
Qt's pool carrying its own QObject whose signal reaches a method of a page. New shape:
`Operations.run`. Each round is a fresh offscreen process running for `--seconds`.

    .venv/bin/python bench/stress_handoffs.py            # 5 rounds of 5 s per shape

Measured here with PySide6 6.12.0: every old-shape round aborts within seconds ("Fatal
Python error: none_dealloc" or "bool_dealloc": reference counts damaged), every
new-shape round survives; with PySide6 6.9–6.11 both shapes survive.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 50  # hand-offs started per millisecond tick


def child(shape: str, seconds: float) -> None:
    import itertools

    from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])

    class Page(QWidget):
        answers = 0

        def answered(self, *_) -> None:
            self.answers += 1

    page = Page()

    class Signals(QObject):
        finished = Signal(str, object)

    class OldWorker(QRunnable):
        def __init__(self, number: int):
            super().__init__()
            self.number, self.signals = number, Signals()

        def run(self) -> None:
            garbage = [object() for _ in range(200)]  # allocate, as an import does
            self.signals.finished.emit("done", len(garbage) + self.number)

    if shape == "operations":
        from desktop.ui.background import Operations

        operations, purposes = Operations(page), itertools.count()

    def tick() -> None:
        for number in range(BATCH):
            if shape == "old":
                worker = OldWorker(number)
                worker.signals.finished.connect(page.answered)
                QThreadPool.globalInstance().start(worker)
            else:
                operations.run(f"p{next(purposes)}", lambda n=number: len([object() for _ in range(200)]) + n,
                               success=page.answered)

    timer = QTimer(interval=1)
    timer.timeout.connect(tick)
    timer.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    print(f"answers {page.answers}", flush=True)
    os._exit(0)  # threads may still be running; the count is what matters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--child", choices=("old", "operations"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds)
        return
    import PySide6

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONFAULTHANDLER": "1"}
    print(f"PySide6 {PySide6.__version__}, {args.rounds} rounds of {args.seconds:g} s per shape")
    for shape, name in (("old", "old workers (QRunnable with its own QObject)"),
                        ("operations", "Operations (desktop/ui/background.py)")):
        died, answers, start = 0, 0, time.perf_counter()
        for _ in range(args.rounds):
            result = subprocess.run([sys.executable, __file__, "--child", shape, "--seconds", str(args.seconds)],
                                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.seconds * 10 + 60)
            if result.returncode != 0:
                died += 1
            elif "answers " in result.stdout:
                answers += int(result.stdout.rpartition("answers ")[2])
        print(f"{name:48} died in {died} of {args.rounds} rounds; {answers:,} answers delivered"
              f" ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
