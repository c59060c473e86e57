"""Built-in observer: writes a run's directory.

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

import numpy as np
import yaml

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


def thread_settings() -> dict:
    """Thread-count environment variables and, with threadpoolctl, the loaded thread pools."""
    settings: dict = {"env": {name: os.environ.get(name) for name in THREAD_VARIABLES}}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        settings["threadpools"] = None
    else:
        settings["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "prefix")}
            for pool in threadpool_info()]
    return settings


def environment() -> dict:
    """Python, numpy and shouxie versions, the CPU, thread settings and the git commit."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "shouxie": _version("shouxie"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "threads": thread_settings(),
        "git_commit": _git_commit(),
    }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def dumps(record: dict) -> str:
    """One record as a line of JSON (numpy scalars become numbers)."""
    return json.dumps(record, default=_json_default, allow_nan=True)


def _log(run, text: str) -> None:
    with open(run.dir / "run.log", "a", encoding="utf-8") as fh:
        fh.write(text.rstrip("\n") + "\n")


@hookimpl
def shouxie_run_started(run):
    if run.resumed:  # keep only the finished records; the rest are redone
        tmp = run.dir / "results.jsonl.tmp"
        tmp.write_text("".join(dumps(r) + "\n" for r in run.records), encoding="utf-8")
        os.replace(tmp, run.dir / "results.jsonl")
        _log(run, f"{run.started} resumed: {len(run.records)} finished record(s) kept")
        return
    with open(run.dir / "config.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(run.config.as_dict(), fh, sort_keys=False)
    (run.dir / "env.json").write_text(json.dumps(environment(), indent=2) + "\n", encoding="utf-8")
    (run.dir / "results.jsonl").touch()
    _log(run, f"{run.started} started {run.name} ({run.run_id}) from {run.source}")


@hookimpl
def shouxie_record(record, run):
    with open(run.dir / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write(dumps({k: v for k, v in record.items() if k != "traceback"}) + "\n")
        fh.flush()
    point = ",".join(f"{k}={v}" for k, v in record["point"].items()) or "-"
    line = f"point {record['point_index']} ({point}) {record['step']} {record['op']}: {record['status']}"
    if record["error"]:
        line += f": {record['error']}"
    _log(run, line + ("\n" + record["traceback"] if record.get("traceback") else ""))


@hookimpl
def shouxie_run_finished(run, summary):
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n)
    _log(run, f"{summary['status']}: {counts or 'no records'} in {summary['wall_time_s']:.2f} s")
