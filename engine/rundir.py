"""The run directory ``<out>/<name>/<stamp>-<id>/``: its layout, and writing and reading the
files a resume needs (``config.yaml``, ``results.jsonl``). The ``rundir`` observer plugin writes
through it; :func:`shouxie.engine.run.resume_run` reads through it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .records import Record, load_records

CONFIG, RESULTS, ENV, LOG = "config.yaml", "results.jsonl", "env.json", "run.log"


class UnsafeRunDir(ValueError):
    """A run directory that would lie outside ``--out``."""


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def dumps(record: Record) -> str:
    """One record as a line of JSON (numpy scalars become numbers)."""
    return json.dumps(record.to_json(), default=_json_default, allow_nan=True)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file and rename it over ``path``: all or nothing."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class RunDir:
    """A run's directory; ``path.parent.parent`` is the ``--out`` base holding every run."""

    path: Path

    @classmethod
    def create(cls, out: str | Path, name: str, started: _dt.datetime,
               run_id: str | None = None) -> RunDir:
        """Make a fresh ``<out>/<name>/<YYYYmmdd-HHMMSS>-<id>/``; refuse one outside ``out``."""
        run_id = run_id or uuid.uuid4().hex[:8]
        base = Path(out)
        path = base / name / f"{started:%Y%m%d-%H%M%S}-{run_id}"
        if Path(name).name != name or name in (".", "..") \
                or not path.resolve().is_relative_to(base.resolve() / name):
            raise UnsafeRunDir(f"a run name is one directory name inside --out, got {name!r}")
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @property
    def out(self) -> Path:
        return self.path.parent.parent

    @property
    def run_id(self) -> str:
        """The id at the end of the directory's name."""
        return self.path.name.rsplit("-", 1)[-1]

    def file(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: dict[str, Any]) -> None:
        """``config.yaml``: the resolved config, what a resume reruns."""
        _write_atomic(self.file(CONFIG), yaml.safe_dump(config, sort_keys=False))

    def start_results(self) -> None:
        self.file(RESULTS).touch()

    def append(self, record: Record) -> None:
        """Add one line to ``results.jsonl``, flushed before returning."""
        with open(self.file(RESULTS), "a", encoding="utf-8") as fh:
            fh.write(dumps(record) + "\n")
            fh.flush()

    def rewrite(self, records: Iterable[Record]) -> None:
        """Replace ``results.jsonl`` by ``records`` at once (a resume keeps the finished ones)."""
        _write_atomic(self.file(RESULTS), "".join(dumps(r) + "\n" for r in records))

    def records(self) -> list[Record]:
        """The records in ``results.jsonl``; a last line cut short by a crash is left out."""
        return load_records(self.file(RESULTS))
