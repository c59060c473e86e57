"""Built-in observer: writes a run's directory.

``config.yaml`` (the resolved config), ``env.json`` (what the numbers were measured on) and
``results.jsonl`` (one record per line, flushed as each record arrives).
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


@hookimpl
def shouxie_run_started(run):
    with open(run.dir / "config.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(run.config.as_dict(), fh, sort_keys=False)
    (run.dir / "env.json").write_text(json.dumps(environment(), indent=2) + "\n", encoding="utf-8")
    (run.dir / "results.jsonl").touch()


@hookimpl
def shouxie_record(record, run):
    with open(run.dir / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write(dumps(record) + "\n")
