"""Shared by the benchmarks: repeated timing in milliseconds and percentiles."""

from __future__ import annotations

import time


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(function, rounds: int) -> list[float]:
    """Call function(index) `rounds` times; the wall time of each call in ms."""
    samples = []
    for index in range(rounds):
        start = time.perf_counter()
        function(index)
        samples.append((time.perf_counter() - start) * 1000)
    return samples
