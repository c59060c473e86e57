"""A run's lifecycle: start (a fresh directory, or a resume of an old one), execute every point
through the executor the config names, hand each record to the observers, finish — also on
Ctrl-C, which waits until the record being handed over is complete.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict

from .config import Config, Registry
from .executors import EXECUTORS, RegistryLoader
from .plan import Point, plan
from .point import Job, PointTask
from .records import Record, Status
from .rundir import CONFIG, RunDir

#: Exit codes of ``shouxie``: every record ok; some record not ok (or the run incomplete);
#: interrupted; a config or usage error (nothing ran).
EXIT_OK, EXIT_FAILED_RECORDS, EXIT_INTERRUPTED, EXIT_USAGE = 0, 1, 2, 4


class Observers(Protocol):
    """What runs the observer hooks: the plugin manager (``shouxie_run_started`` and the rest)."""

    @property
    def hook(self) -> Any: ...


class Summary(TypedDict):
    """What ``shouxie_run_finished`` receives besides the run."""

    status: str  # finished, failed-fast or interrupted
    counts: dict[str, int]  # records by status
    records: int
    total: int
    wall_time_s: float


@dataclass
class Run:
    """A run in progress: what observers receive.

    ``records`` holds every record emitted so far (on a resume, the finished records kept from
    before first); ``total`` is how many records the run will have when complete; ``options``
    holds command-line choices observers may honour (``quiet``).
    """

    config: Config
    run_id: str
    dir: Path
    source: str
    started: str
    points: list[Point]
    out: Path
    total: int = 0
    resumed: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def rundir(self) -> RunDir:
        """The run directory's files (``results.jsonl``, ``config.yaml``...)."""
        return RunDir(self.dir)

    def exit_code(self) -> int:
        """``EXIT_OK`` when the run is complete and every record ok, else ``EXIT_FAILED_RECORDS``."""
        complete = len(self.records) == self.total
        ok = complete and all(r.status == Status.OK for r in self.records)
        return EXIT_OK if ok else EXIT_FAILED_RECORDS


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C while a record is handed to the observers, so no file is left half-written."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    pending: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if pending:
            raise KeyboardInterrupt


def _emit(run: Run, observers: Observers, record: Record) -> None:
    with _interrupt_deferred():
        run.records.append(record)
        observers.hook.shouxie_record(record=record, run=run)


def new_run(config: Config, *, out: str | Path, source: str,
            options: dict[str, Any] | None = None) -> Run:
    """A fresh run directory ``<out>/<name>/<timestamp>-<id>/``."""
    started = _dt.datetime.now().astimezone()
    rundir = RunDir.create(out, config.name, started)
    return Run(config, rundir.run_id, rundir.path, source, started.isoformat(timespec="seconds"),
               plan(config), Path(out), options=dict(options or {}))


def resume_run(run_dir: str | Path, config: Config, *, options: dict[str, Any] | None = None) -> Run:
    """The run at ``run_dir`` with its finished records, ready for :func:`execute` to complete."""
    rundir = RunDir(Path(run_dir))
    records = rundir.records()
    run_id = records[0].run_id if records else rundir.run_id
    kept = {r.key: r for r in records if r.status.finished}
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return Run(config, run_id, rundir.path, str(rundir.file(CONFIG)), started, plan(config),
               rundir.out, resumed=True, options=dict(options or {}), records=list(kept.values()))


def execute(config: Config, registry: Registry, observers: Observers, *, load_registry: RegistryLoader,
            out: str | Path = "runs", source: str = "<config>", run: Run | None = None,
            fail_fast: bool = False, options: dict[str, Any] | None = None) -> Run:
    """Run every step at every point; emit a record for each through the plugin hooks.

    ``run`` continues an existing run (``--resume``): its ``records`` are the finished ones, which
    are not redone. A ``KeyboardInterrupt`` ends the run cleanly (every emitted record is on disk)
    and propagates. ``load_registry`` builds a worker's registry (process and dask executors).
    """
    run = run or new_run(config, out=out, source=source, options=options)
    per_point = sum(len(s.ops) for s in config.steps)
    run.total = len(run.points) * per_point
    done: dict[int, dict[tuple[str, str], Record]] = {}
    for r in run.records:
        done.setdefault(r.point_index, {})[(r.step, r.op)] = r
    plugins = tuple(dict.fromkeys([*config.plugins, *run.options.get("plugins", ())]))
    job = Job(config, run.run_id, str(run.dir), plugins)
    tasks = [PointTask(point, done.get(point.index, {}))
             for point in run.points if len(done.get(point.index, {})) < per_point]
    observers.hook.shouxie_run_started(run=run)
    wall = time.perf_counter()
    status = "finished"
    try:
        for record in EXECUTORS[config.executor.type](job, tasks, registry, load_registry):
            _emit(run, observers, record)
            if fail_fast and not record.status.finished:
                status = "failed-fast"
                break
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        counts = {s.value: sum(r.status == s for r in run.records) for s in Status}
        summary: Summary = {"status": status, "counts": counts, "records": len(run.records),
                            "total": run.total, "wall_time_s": time.perf_counter() - wall}
        observers.hook.shouxie_run_finished(run=run, summary=summary)
    return run
