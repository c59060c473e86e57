"""Executors run a job's points and yield their records in plan order.

An executor is a function ``(job, tasks, registry, load_registry) -> records`` with the
validated config in ``job``; :data:`EXECUTORS` is the table of them, by the name a config's
``executor: type`` gives. ``serial`` runs the points here with ``registry``; ``process`` and
``dask`` run them in worker processes, each building its registry once with
``load_registry(job.plugins)`` (a picklable function the caller provides: the engine knows no
plugin manager). Records come back in submission order; observers run here, in the driver.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .point import Job, PointTask, run_point
from .records import Record
from .source import ConfigError, KeyPath, Source, did_you_mean, int_field, reject_unknown

if TYPE_CHECKING:
    from .config import Registry

RegistryLoader = Callable[[tuple[str, ...]], "Registry"]


class PointExecutor(Protocol):
    def __call__(self, job: Job, tasks: Sequence[PointTask], registry: Registry,
                 load_registry: RegistryLoader) -> Iterator[Record]: ...


#: A worker's op registries, by the plugin names they were built from.
_REGISTRIES: dict[tuple[str, ...], Registry] = {}
#: A process-pool worker's job and registry loader, set once when the worker starts.
_WORKER: dict[str, Any] = {}


def run_remote(job: Job, load_registry: RegistryLoader, task: PointTask) -> list[Record]:
    """A worker runs one point, with the registry it builds once per plugin set."""
    registry = _REGISTRIES.get(job.plugins)
    if registry is None:
        registry = _REGISTRIES[job.plugins] = load_registry(job.plugins)
    return list(run_point(job, task, registry))


def _start_worker(job: Job, load_registry: RegistryLoader) -> None:
    _WORKER.update(job=job, load_registry=load_registry)


def _run_in_worker(task: PointTask) -> list[Record]:
    return run_remote(_WORKER["job"], _WORKER["load_registry"], task)


def serial(job: Job, tasks: Sequence[PointTask], registry: Registry,
           load_registry: RegistryLoader) -> Iterator[Record]:
    for task in tasks:
        yield from run_point(job, task, registry)


def process(job: Job, tasks: Sequence[PointTask], registry: Registry,
            load_registry: RegistryLoader) -> Iterator[Record]:
    import multiprocessing

    workers = job.config.executor.workers or os.cpu_count()
    pool = multiprocessing.get_context("spawn").Pool(workers, _start_worker, (job, load_registry))
    try:
        for records in pool.imap(_run_in_worker, tasks):  # in submission order
            yield from records
    finally:  # also on Ctrl-C or --fail-fast: stop the workers now, not after their current point
        pool.terminate()
        pool.join()


def dask(job: Job, tasks: Sequence[PointTask], registry: Registry,
         load_registry: RegistryLoader) -> Iterator[Record]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("executor 'dask' needs dask.distributed: pip install 'shouxie[dask]'",
                          path=("executor",)) from None
    setting = job.config.executor
    with contextlib.ExitStack() as stack:
        address: Any = setting.address
        if address is None:
            address = stack.enter_context(LocalCluster(n_workers=setting.workers or os.cpu_count(),
                                                       threads_per_worker=1, dashboard_address=None))
        client = stack.enter_context(Client(address))
        shared = client.scatter(job, broadcast=True)  # sent once, not with every point
        futures = [client.submit(run_remote, shared, load_registry, task, pure=False) for task in tasks]
        try:
            for future in futures:
                yield from future.result()
        finally:
            client.cancel(futures)


EXECUTORS: dict[str, PointExecutor] = {"serial": serial, "process": process, "dask": dask}
EXECUTOR_NAMES = tuple(EXECUTORS)
EXECUTOR_KEYS = {"type", "workers", "address"}


@dataclass(frozen=True)
class Executor:
    """The ``executor:`` setting: which executor runs the points, with how many workers."""

    type: str = "serial"
    workers: int | None = None
    address: str | None = None


def executor_setting(src: Source, data: dict[str, Any]) -> Executor:
    """The config's ``executor:`` (a name, or a mapping with ``type``, ``workers``, ``address``)."""
    raw = data.get("executor", "serial")
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise src.error(f"expected one of {', '.join(EXECUTOR_NAMES)} or a mapping with 'type'",
                        ("executor",))
    path: KeyPath = ("executor",)
    reject_unknown(src, raw, EXECUTOR_KEYS, path)
    kind = raw.get("type", "serial")
    if kind not in EXECUTOR_NAMES:
        raise src.error(f"unknown executor {kind!r}{did_you_mean(kind, EXECUTOR_NAMES)}; expected one "
                        f"of {', '.join(EXECUTOR_NAMES)}", path + ("type",) if "type" in raw else path)
    workers = int_field(src, raw, "workers", None, 1, path)
    address = raw.get("address")
    if address is not None and (kind != "dask" or not isinstance(address, str)):
        raise src.error("expected a scheduler address string, with type: dask", path + ("address",))
    return Executor(kind, workers, address)
