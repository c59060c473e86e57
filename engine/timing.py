"""Timing ops: warm-up, calibration of calls per sample, interleaved repeats, with GC off."""
from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypedDict

import numpy as np

Call = tuple[Callable[..., Any], dict[str, Any]]


class Timing(TypedDict):
    """A record's ``time_s``: per-call seconds over the samples, and the samples themselves."""

    median: float
    iqr: float
    min: float
    max: float
    repeat: int
    number: int
    samples: list[float]


def _loop(func: Callable[..., Any], params: dict[str, Any], number: int) -> tuple[Any, float]:
    """Call ``func(**params)`` ``number`` times; the first call's output and the total time."""
    start = time.perf_counter()
    result = func(**params)
    for _ in range(number - 1):
        func(**params)
    return result, time.perf_counter() - start


def _calibrate(func: Callable[..., Any], params: dict[str, Any], min_time: float) -> tuple[Any, int, float]:
    """Calls per sample so that one sample lasts at least ``min_time`` (1, 2, 5, 10, 20, ...).

    Returns the output of the very first call, the number of calls per sample and the last
    trial's time per call, which is a valid sample.
    """
    result, number, elapsed = None, 1, 0.0
    for number in (m * 10 ** e for e in range(7) for m in (1, 2, 5)):
        output, elapsed = _loop(func, params, number)
        result = output if number == 1 else result
        if elapsed >= min_time:
            break
    return result, number, elapsed / number


@contextlib.contextmanager
def _gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_ops(calls: Sequence[Call], *, repeat: int, warmup: int,
             min_time: float) -> list[tuple[Any, Timing] | Exception]:
    """Time each ``func(**params)`` of ``calls``: warm-up, calibration, then interleaved repeats.

    Inputs are made by the caller, outside the timed region, and reused by every repeat. With
    garbage collection off, each op gets ``warmup`` untimed calls and a calibration of the calls
    per sample (``min_time``; its last trial is the first sample); the other ``repeat - 1`` samples
    are taken round-robin across the ops, so that drift in the machine's load affects every op
    alike. Returns, per op, its output and timing summary, or the exception it raised.
    """
    outcome: list[Any] = [None] * len(calls)
    numbers: dict[int, int] = {}
    samples: dict[int, list[float]] = {}
    with _gc_off():
        for i, (func, params) in enumerate(calls):
            try:
                for _ in range(warmup):
                    func(**params)
                outcome[i], numbers[i], first = _calibrate(func, params, min_time)
            except Exception as exc:  # an op's failure is a record, not a crash
                outcome[i] = exc
                continue
            samples[i] = [first]
        for _ in range(repeat - 1):
            for i in list(samples):
                func, params = calls[i]
                try:
                    samples[i].append(_loop(func, params, numbers[i])[1] / numbers[i])
                except Exception as exc:
                    outcome[i] = exc
                    del samples[i]
    return [(outcome[i], timing_summary(samples[i], numbers[i])) if i in samples else outcome[i]
            for i in range(len(calls))]


def timing_summary(samples: list[float], number: int) -> Timing:
    """Median, IQR, min, max of per-call times, with the raw samples."""
    q1, q3 = np.percentile(samples, [25, 75]) if len(samples) > 1 else (samples[0], samples[0])
    return {"median": statistics.median(samples), "iqr": float(q3 - q1), "min": min(samples),
            "max": max(samples), "repeat": len(samples), "number": number, "samples": list(samples)}
