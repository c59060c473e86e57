"""The result record: one per (sweep point, step, op), and the one place its schema is written.

A :class:`Record` is one line of ``results.jsonl`` (:meth:`Record.to_json`, :meth:`Record.from_json`)
and what the ``shouxie_record`` hook receives. For the plugins written against the records of
earlier versions, which were dicts, it also reads as a mapping of those same keys:
``record["status"]``, ``record.get("time_s")``, ``dict(record)``. The field docs below are the
schema's documentation: README.md and docs/hooks.md hold :func:`schema_markdown`'s output, and a
test keeps them equal (``python -m shouxie.engine.records`` prints it).
"""
from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .source import ConfigError
from .timing import Timing


class Status(str, Enum):
    """A record's status; a ``str``, so ``record.status == "ok"`` holds."""

    OK = "ok"
    MISMATCH = "mismatch"  # a compare step's op disagrees with the baseline
    ERROR = "error"
    SKIPPED = "skipped"  # a step it depends on failed

    def __str__(self) -> str:  # "ok", not "Status.OK"
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def finished(self) -> bool:
        """``ok`` and ``mismatch`` records are finished: a resume keeps them."""
        return self in (Status.OK, Status.MISMATCH)


def _doc(text: str, default: Any = dataclasses.MISSING) -> Any:
    """A field documented by ``text``; a ``dict`` default is a fresh dict each time."""
    if isinstance(default, dict):
        return field(default_factory=dict, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass
class Record(Mapping[str, Any]):
    """One (sweep point, step, op) result."""

    experiment: str = _doc("the config's `name`")
    run_id: str = _doc("the run's id (the end of its directory name)")
    point: dict[str, Any] = _doc("the point's sweep and zip values, by variable")
    point_index: int = _doc("the point's position in the plan (grid order, then zip rows)")
    seed: int = _doc("the point's seed (`${seed}`), derived from the config's `seed` and `point_index`")
    step: str = _doc("the step's name")
    op: str = _doc("the op's name")
    plugin: str = _doc("the plugin that registered the op")
    status: Status = _doc("`ok`; `mismatch` (a compare step's op disagrees with the baseline); "
                          "`error`; `skipped` (a step it depends on failed)")
    error: str | None = _doc("what went wrong (`TypeName: message`), else null", None)
    time_s: Timing | None = _doc("per-call seconds: `median`, `iqr`, `min`, `max`, `repeat` (samples), "
                                 "`number` (calls per sample), `samples`; null when it did not run", None)
    outputs: dict[str, Any] = _doc("each output: shape and dtype of arrays, value of scalars", {})
    metrics: dict[str, Any] = _doc("the numeric scalars among the outputs", {})
    baseline: str | None = _doc("a compare step's baseline op, else null", None)
    time_ratio: float | None = _doc("this op's median / the baseline's (below 1 is faster), else null", None)
    agreement: dict[str, Any] | None = _doc(
        "a compare step's check against the baseline: `ok`, the worst output `key`, `max_abs_diff`, "
        "`mismatched`, `compared`, and where they differ `index`, `baseline`, `got` (or a `detail`)", None)
    executor: str = _doc("the executor that ran it: `serial`, `process` or `dask`", "serial")
    #: The traceback of an ``error``: written to ``run.log``, not to ``results.jsonl``.
    traceback: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    # -- the mapping view: the keys of the JSON line, and ``traceback`` when there is one
    def __getitem__(self, key: str) -> Any:
        if key in JSON_FIELDS or (key == "traceback" and self.traceback is not None):
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(JSON_FIELDS + ("traceback",) * (self.traceback is not None))

    def __len__(self) -> int:
        return len(JSON_FIELDS) + (self.traceback is not None)

    def to_json(self) -> dict[str, Any]:
        """The record as one line of ``results.jsonl`` holds it (key order included)."""
        out = {name: getattr(self, name) for name in JSON_FIELDS}
        out["status"] = self.status.value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        """The record of a ``results.jsonl`` line; ``ValueError`` when its keys are not a record's."""
        if not isinstance(data, Mapping) or set(data) != set(JSON_FIELDS):
            got = sorted(data) if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"not a record: expected the keys {', '.join(JSON_FIELDS)}, got {got}")
        return cls(**data)

    @property
    def key(self) -> tuple[int, str, str]:
        """What identifies a record within a run: (point index, step, op)."""
        return self.point_index, self.step, self.op



#: The keys of a ``results.jsonl`` line, in order: every field but ``traceback``.
JSON_FIELDS = tuple(f.name for f in dataclasses.fields(Record) if f.name != "traceback")
FINISHED = tuple(s.value for s in Status if s.finished)


def schema_markdown() -> str:
    """The record's fields as a Markdown list: the text README.md and docs/hooks.md hold."""
    return "".join(textwrap.fill(f"- `{f.name}`: {f.metadata['doc']}", 100, subsequent_indent="  ") + "\n"
                   for f in dataclasses.fields(Record) if f.name in JSON_FIELDS)


def load_records(path: Path) -> list[Record]:
    """The records of a ``results.jsonl``; a last line cut short by a crash is ignored."""
    records = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for i, line in enumerate(lines):
        try:
            records.append(Record.from_json(json.loads(line)))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise ConfigError(f"line {i + 1} is not valid JSON", source=str(path)) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"line {i + 1}: {exc}", source=str(path)) from None
    return records


if __name__ == "__main__":
    print(schema_markdown(), end="")
