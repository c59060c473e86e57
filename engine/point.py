"""Running one point: resolve each step's params, time its ops, compare, and make the records."""
from __future__ import annotations

import copy
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .compare import _named, agreement, mismatch_message
from .params import StepFailed, resolve
from .records import Record, Status
from .timing import Timing, time_ops

if TYPE_CHECKING:
    from .config import Config, OpLike, Registry, Step
    from .plan import Point


@dataclass(frozen=True)
class Job:
    """What every point of a run shares: the validated config, the run, the plugins to load.

    It is plain data, so that a worker process can receive it; ``plugins`` are the names a
    worker loads to build its own op registry.
    """

    config: Config
    run_id: str
    run_dir: str
    plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class PointTask:
    """One point to run and, on a resume, its finished records by (step, op): not redone."""

    point: Point
    done: dict[tuple[str, str], Record] = field(default_factory=dict)


def describe(value: Any) -> Any:
    """A JSON-safe description of an output: shape and dtype of arrays, the value of scalars."""
    if isinstance(value, np.ndarray):
        return {"shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "len": len(value)}
    return {"type": type(value).__name__}


def metrics_of(outputs: dict[str, Any]) -> dict[str, float | int]:
    """Numeric scalars among an op's outputs."""
    metrics = {}
    for key, value in outputs.items():
        if isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics[key] = value
    return metrics


def run_point(job: Job, task: PointTask, registry: Registry) -> Iterator[Record]:
    """Run every step of one point, yielding a record per (step, op) as soon as it exists.

    ``task.done`` holds the finished records of a resumed run, by (step, op): those are not redone;
    a finished step whose output a later step needs is called once more, untimed, for its output.
    """
    point = task.point
    variables = {**point.values, "seed": point.seed, "run_dir": job.run_dir}
    steps = job.config.steps
    todo = {s.name: [op for op in s.ops if (s.name, op) not in task.done] for s in steps}
    needed: set[str] = set()
    for step in reversed(steps):
        if todo[step.name] or step.name in needed:
            needed |= step.references
    outputs: dict[str, Any] = {}
    for step in steps:
        if todo[step.name] or step.name in needed:
            yield from _StepRun(job, task, step, registry).run(variables, outputs, todo[step.name])


class _StepRun:
    """One step at one point: its ops, their records, and the baseline's output."""

    def __init__(self, job: Job, task: PointTask, step: Step, registry: Registry) -> None:
        self.job, self.task, self.step = job, task, step
        self.ops = [registry.get(name) for name in step.ops]
        self.records = {op.name: self._record(op) for op in self.ops}

    def _record(self, op: OpLike) -> Record:
        point, step = self.task.point, self.step
        return Record(self.job.config.name, self.job.run_id, point.values, point.index, point.seed,
                      step.name, op.name, op.plugin, Status.OK,
                      baseline=step.ops[0] if step.compare else None,
                      executor=self.job.config.executor.type)

    def _fail(self, names: list[str], exc: BaseException, prefix: str = "") -> list[Record]:
        """Mark the records of ``names`` as errors raised by ``exc``; return them."""
        for name in names:
            record = self.records[name]
            record.status, record.error = Status.ERROR, f"{prefix}{type(exc).__name__}: {exc}"
            record.traceback = "".join(traceback.format_exception(exc))
        return [self.records[name] for name in names]

    def run(self, variables: dict[str, Any], outputs: dict[str, Any], todo: list[str]) -> Iterator[Record]:
        step, config = self.step, self.job.config
        try:
            params = resolve(step.params, variables, outputs)
        except StepFailed as exc:
            for name in todo:
                self.records[name].status, self.records[name].error = Status.SKIPPED, str(exc)
                yield self.records[name]
            return
        except Exception as exc:  # e.g. a missing output field
            yield from self._fail(todo, exc)
            return
        timed = [op for op in self.ops if op.name in todo]
        # The baseline's output is needed by dependents and by the agreement check, even when its
        # record is already finished (a resumed run): then it is called once, untimed.
        baseline = self.ops[0]
        results: dict[str, Any] = {}
        if baseline.name not in todo:
            try:
                results[baseline.name] = baseline.func(**copy.deepcopy(params))
            except Exception as exc:
                yield from self._fail(todo, exc, f"baseline {baseline.name} failed on rerun: ")
                return
        calls = [(op.func, copy.deepcopy(params) if step.compare else params) for op in timed]
        timed_out = time_ops(calls, repeat=_pick(step.repeat, config.repeat),
                             warmup=_pick(step.warmup, config.warmup),
                             min_time=_pick(step.min_time, config.min_time))
        timings: dict[str, Timing] = {}
        for op, got in zip(timed, timed_out):
            if isinstance(got, Exception):
                self._fail([op.name], got)
            else:
                results[op.name], timings[op.name] = got
        if baseline.name in results:
            outputs[step.name] = results[baseline.name]
        kept = self.task.done.get((step.name, baseline.name))
        base_time = timings.get(baseline.name) or (kept.time_s if kept else None)
        for op in timed:
            record = self.records[op.name]
            if op.name in timings:
                named = _named(results[op.name])
                record.time_s = timings[op.name]
                record.outputs = {k: describe(v) for k, v in named.items()}
                record.metrics = metrics_of(named)
                if step.compare:
                    self._judge(record, results, base_time["median"] if base_time else None)
            yield record

    def _judge(self, record: Record, results: dict[str, Any], base_median: float | None) -> None:
        """Fill a compare record's time ratio and agreement with the baseline."""
        baseline = self.step.ops[0]
        if base_median and record.time_s:
            record.time_ratio = record.time_s["median"] / base_median
        if record.op == baseline:
            return
        if baseline not in results:
            record.agreement = {"ok": None, "detail": f"baseline {baseline} failed; nothing to compare"}
            return
        check = agreement(results[baseline], results[record.op], rtol=self.step.rtol, atol=self.step.atol)
        record.agreement = check
        if not check["ok"]:
            record.status, record.error = Status.MISMATCH, mismatch_message(check, baseline)


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value
