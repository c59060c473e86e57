"""Built-in observer: writes a run's directory, through :class:`shouxie.engine.rundir.RunDir`.

``config.yaml`` (the resolved config), ``env.json`` (what the numbers were measured on),
``results.jsonl`` (one record per line, flushed as each record arrives) and ``run.log`` (one line
per record, with the traceback of every error).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from shouxie.core import cpu_info
from shouxie.engine.records import Record
from shouxie.engine.run import Run, Summary
from shouxie.engine.rundir import ENV, LOG

from .hookspecs import hookimpl


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "OPENBLAS_CORETYPE")


def thread_settings() -> dict[str, Any]:
    """Thread-count environment variables and, with threadpoolctl, the loaded thread pools."""
    settings: dict[str, Any] = {"env": {name: os.environ.get(name) for name in THREAD_VARIABLES}}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        settings["threadpools"] = None
    else:
        settings["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "prefix")}
            for pool in threadpool_info()]
    return settings


def environment() -> dict[str, Any]:
    """Python, numpy and shouxie versions, the CPU and the kernel variants run on it
    (``shouxie.core.cpu_info()``), thread settings and the git commit."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "shouxie": _version("shouxie"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "kernels": cpu_info(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "threads": thread_settings(),
        "git_commit": _git_commit(),
    }


def _log(run: Run, text: str) -> None:
    with open(run.rundir.file(LOG), "a", encoding="utf-8") as fh:
        fh.write(text.rstrip("\n") + "\n")


@hookimpl
def shouxie_run_started(run: Run) -> None:
    rundir = run.rundir
    if run.resumed:  # keep only the finished records; the rest are redone
        rundir.rewrite(run.records)
        _log(run, f"{run.started} resumed: {len(run.records)} finished record(s) kept")
        return
    rundir.write_config(run.config.as_dict())
    rundir.file(ENV).write_text(json.dumps(environment(), indent=2) + "\n", encoding="utf-8")
    rundir.start_results()
    _log(run, f"{run.started} started {run.name} ({run.run_id}) from {run.source}")


@hookimpl
def shouxie_record(record: Record, run: Run) -> None:
    run.rundir.append(record)
    point = ",".join(f"{k}={v}" for k, v in record.point.items()) or "-"
    line = f"point {record.point_index} ({point}) {record.step} {record.op}: {record.status}"
    if record.error:
        line += f": {record.error}"
    _log(run, line + ("\n" + record.traceback if record.traceback else ""))


@hookimpl
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n)
    _log(run, f"{summary['status']}: {counts or 'no records'} in {summary['wall_time_s']:.2f} s")
