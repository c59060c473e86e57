"""shouxie.runner: run an experiment described in YAML.

The runner only orchestrates: load -> validate -> plan -> execute -> emit records. Ops come from
the plugin manager's registry; whatever consumes records (the run directory writer, the SQLite
index, the progress bar, the summaries and plots, third-party sinks) is an observer plugin called
through the ``shouxie_run_started``, ``shouxie_record`` and ``shouxie_run_finished`` hooks.

Usage: ``shouxie run CONFIG.yaml [options]``, ``shouxie ops``, or ``python runner.py CONFIG.yaml``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as _dt
import difflib
import gc
import importlib
import itertools
import json
import os
import re
import signal
import statistics
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shouxie.plugins import collect_ops, get_plugin_manager
from shouxie.plugins.manager import load_plugins
from shouxie.plugins.registry import OpRegistry

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_INTERRUPTED, EXIT_USAGE = 0, 1, 2, 4

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REFERENCE = re.compile(r"^@([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Variables every config can use besides its sweep variables.
BUILTIN_VARIABLES = {
    "seed": "each point's seed, derived from the config's seed and the point's index",
    "run_dir": "the run's directory, for ops that write files",
}
EXECUTORS = ("serial", "process", "dask")
#: Record statuses; ``ok`` and ``mismatch`` records are finished (a resume keeps them).
STATUSES = ("ok", "mismatch", "error", "skipped")
FINISHED = ("ok", "mismatch")
DEFAULT_MIN_TIME = 2e-4
DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-8


# --------------------------------------------------------------------------- errors
class ConfigError(Exception):
    """An invalid experiment config; says where (file:line, key path) and what was expected."""

    def __init__(self, message: str, *, path: Sequence[str | int] = (), source: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.source, self.line = message, tuple(path), source, line

    def __str__(self) -> str:
        where = self.source or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = format_path(self.path)
        return f"{where}: {key + ': ' if key else ''}{self.message}"


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --------------------------------------------------------------------------- load
@dataclass
class Source:
    """A loaded YAML document with the line of every key, for error messages.

    ``overrides`` maps the key paths set on the command line to the option that set them, so an
    error in an overridden value names that option instead of a file line.
    """

    data: Any
    name: str = "<config>"
    lines: dict[tuple, int] = field(default_factory=dict)
    overrides: dict[tuple, str] = field(default_factory=dict)

    def error(self, message: str, path: Sequence[str | int] = ()) -> ConfigError:
        path = tuple(path)
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.overrides:
                return ConfigError(message, path=path, source=f"command line ({self.overrides[path[:cut]]})")
            if path[:cut] in self.lines:
                return ConfigError(message, path=path, source=self.name, line=self.lines[path[:cut]])
        return ConfigError(message, path=path, source=self.name)


def _node_lines(node: yaml.Node, path: tuple, out: dict[tuple, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            out[sub] = key.start_mark.line + 1
            _node_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _node_lines(item, path + (i,), out)


def load_source(path: str | Path) -> Source:
    """Read a YAML config safely; ``ConfigError`` when it cannot be read or parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", source=str(path)) from None
    return parse_source(text, str(path))


def parse_source(text: str, name: str = "<config>") -> Source:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=name,
                          line=line) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return Source(data, name, lines)


def _split_assignment(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{option} expects KEY=VALUE, got {text!r}", source="command line")
    return key.strip(), value


def _yaml_value(text: str, option: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid {option} value: {getattr(exc, 'problem', None) or exc}",
                          source="command line") from None


def apply_override(src: Source, assignment: str) -> None:
    """``-s a.b.c=value``: set a key path (steps addressed by name or index); the value is YAML."""
    key, raw = _split_assignment(assignment, "-s")
    value = _yaml_value(raw, f"-s {assignment}")
    if not isinstance(src.data, dict):
        raise ConfigError("cannot apply -s to a config that is not a mapping", source=src.name)
    node: Any = src.data
    path: list[str | int] = []
    parts = key.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            names = [s.get("name") if isinstance(s, dict) else None for s in node]
            if part in names:
                part = names.index(part)
            elif part.isdigit() and int(part) < len(node):
                part = int(part)
            else:
                close = difflib.get_close_matches(part, [n for n in names if isinstance(n, str)], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"-s {assignment}: no step {part!r}{hint}", source="command line",
                                  path=path)
        elif not isinstance(node, dict):
            raise ConfigError(f"-s {assignment}: {format_path(path)} is not a mapping", source="command line")
        path.append(part)
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
    src.overrides[tuple(path)] = f"-s {assignment}"


def apply_sweep(src: Source, assignment: str) -> None:
    """``--sweep n=1,2,3``: replace (or add) one sweep axis; each value is YAML (3 stays int)."""
    key, raw = _split_assignment(assignment, "--sweep")
    if not isinstance(src.data, dict):
        raise ConfigError("cannot apply --sweep to a config that is not a mapping", source=src.name)
    sweep = src.data.get("sweep")
    if not isinstance(sweep, dict):
        sweep = src.data["sweep"] = {}
    sweep[key] = [_yaml_value(v, f"--sweep {assignment}") for v in raw.split(",") if v.strip()]
    src.overrides[("sweep", key)] = f"--sweep {assignment}"


# --------------------------------------------------------------------------- validate
@dataclass(frozen=True)
class Step:
    name: str
    ops: tuple[str, ...]
    params: dict[str, Any]
    compare: bool = False
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    repeat: int | None = None
    warmup: int | None = None
    min_time: float | None = None

    @property
    def references(self) -> set[str]:
        """The earlier steps whose outputs this step uses."""
        return _references(self.params)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.compare:
            out.update(compare=list(self.ops), params=self.params, rtol=self.rtol, atol=self.atol)
        else:
            out.update(op=self.ops[0], params=self.params)
        for key in ("repeat", "warmup", "min_time"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Executor:
    type: str = "serial"
    workers: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class Config:
    """A validated experiment."""

    name: str
    seed: int
    repeat: int
    warmup: int
    min_time: float
    sweep: dict[str, list]
    zip: dict[str, list]
    plugins: tuple[str, ...]
    executor: Executor
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in: what a run saves as ``config.yaml``."""
        executor = {"type": self.executor.type}
        executor.update({k: v for k in ("workers", "address")
                         if (v := getattr(self.executor, k)) is not None})
        return {
            "name": self.name, "seed": self.seed, "repeat": self.repeat, "warmup": self.warmup,
            "min_time": self.min_time,
            "sweep": {k: list(v) for k, v in self.sweep.items()},
            "zip": {k: list(v) for k, v in self.zip.items()},
            "plugins": list(self.plugins), "executor": executor,
            "steps": [s.as_dict() for s in self.steps],
        }


TOP_KEYS = {"name", "seed", "repeat", "warmup", "min_time", "sweep", "zip", "plugins", "executor", "steps"}
STEP_KEYS = {"name", "op", "compare", "params", "rtol", "atol", "repeat", "warmup", "min_time"}
EXECUTOR_KEYS = {"type", "workers", "address"}


def _reject_unknown(src: Source, mapping: dict, allowed: set[str], path: tuple) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise src.error(f"unknown key {key!r}{hint}; expected one of {', '.join(sorted(allowed))}",
                            path + (key,))


def _int_field(src: Source, data: dict, key: str, default: int | None, low: int, path: tuple = ()):
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise src.error(f"expected an integer >= {low}, got {value!r}", path + (key,))
    return value


def _float_field(src: Source, data: dict, key: str, default: float | None, path: tuple = ()):
    """A number >= 0; strings such as ``1e-5`` (which YAML 1.1 reads as text) are accepted."""
    value = data.get(key, default)
    if value is None and default is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise src.error(f"expected a finite number >= 0, got {value!r}", path + (key,))
    return number


def _axes(src: Source, data: dict, key: str, taken: set[str]) -> dict[str, list]:
    axes = data.get(key) or {}
    if not isinstance(axes, dict):
        raise src.error("expected a mapping of variable -> list of values", (key,))
    for var, values in axes.items():
        if not isinstance(var, str) or not IDENTIFIER.match(var):
            raise src.error("a sweep variable is an identifier", (key, var))
        if var in BUILTIN_VARIABLES:
            raise src.error(f"{var!r} is reserved: {BUILTIN_VARIABLES[var]}", (key, var))
        if var in taken:
            raise src.error(f"{var!r} is both a sweep and a zip variable; expected it in one of them",
                            (key, var))
        if not isinstance(values, list) or not values:
            raise src.error("expected a non-empty list of values", (key, var))
    return axes


def _executor(src: Source, data: dict) -> Executor:
    raw = data.get("executor", "serial")
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise src.error(f"expected one of {', '.join(EXECUTORS)} or a mapping with 'type'", ("executor",))
    path = ("executor",)
    _reject_unknown(src, raw, EXECUTOR_KEYS, path)
    kind = raw.get("type", "serial")
    if kind not in EXECUTORS:
        close = difflib.get_close_matches(str(kind), EXECUTORS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise src.error(f"unknown executor {kind!r}{hint}; expected one of {', '.join(EXECUTORS)}",
                        path + ("type",) if "type" in raw else path)
    workers = _int_field(src, raw, "workers", None, 1, path)
    address = raw.get("address")
    if address is not None and (kind != "dask" or not isinstance(address, str)):
        raise src.error("expected a scheduler address string, with type: dask", path + ("address",))
    return Executor(kind, workers, address)


def config_plugins(src: Source) -> tuple[str, ...]:
    """The ``plugins:`` list of a loaded config (checked: a list of module or entry-point names)."""
    names = src.data.get("plugins") or [] if isinstance(src.data, dict) else []
    if not isinstance(names, list):
        raise src.error("expected a list of plugin module names", ("plugins",))
    for i, name in enumerate(names):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            raise src.error(f"expected a module or entry-point name, got {name!r}", ("plugins", i))
    return tuple(names)


def validate(src: Source, registry: OpRegistry) -> Config:
    """Check a loaded config against the schema and the registry; return it typed."""
    data = src.data
    if not isinstance(data, dict):
        raise src.error(f"a config is a mapping with 'name' and 'steps', got {type(data).__name__}")
    _reject_unknown(src, data, TOP_KEYS, ())
    for key in ("name", "steps"):
        if key not in data:
            raise src.error(f"missing required key {key!r}")
    name = data["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise src.error("expected a name of letters, digits, '_', '.', '-'", ("name",))
    seed = _int_field(src, data, "seed", 0, 0)
    repeat = _int_field(src, data, "repeat", 1, 1)
    warmup = _int_field(src, data, "warmup", 0, 0)
    min_time = _float_field(src, data, "min_time", DEFAULT_MIN_TIME)
    zipped = _axes(src, data, "zip", set())
    sweep = _axes(src, data, "sweep", set(zipped))
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in zipped.items())
        raise src.error(f"zip lists must have equal lengths, got {sizes}", ("zip",))
    plugins = config_plugins(src)
    executor = _executor(src, data)

    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise src.error("expected a non-empty list of steps", ("steps",))
    variables = set(sweep) | set(zipped) | set(BUILTIN_VARIABLES)
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        steps.append(_validate_step(src, raw, ("steps", i), registry, variables, steps))
    return Config(name, seed, repeat, warmup, min_time, sweep, zipped, plugins, executor, tuple(steps))


def _validate_step(src: Source, raw: Any, path: tuple, registry: OpRegistry, variables: set[str],
                   earlier: list[Step]) -> Step:
    if not isinstance(raw, dict):
        raise src.error("a step is a mapping with 'name', 'op' (or 'compare') and 'params'", path)
    _reject_unknown(src, raw, STEP_KEYS, path)
    if "name" not in raw:
        raise src.error("missing required key 'name'", path)
    if ("op" in raw) == ("compare" in raw):
        raise src.error("a step has exactly one of 'op' (one op) or 'compare' (a list of ops)", path)
    step_name = raw["name"]
    if not isinstance(step_name, str) or not REFERENCE.match("@" + step_name) or "." in step_name:
        raise src.error("a step name is an identifier (letters, digits, '_', '-')", path + ("name",))
    if any(s.name == step_name for s in earlier):
        raise src.error(f"duplicate step name {step_name!r}", path + ("name",))
    compare = "compare" in raw
    if compare:
        names = raw["compare"]
        if not isinstance(names, list) or len(names) < 2:
            raise src.error("expected a list of at least two ops; the first is the baseline",
                            path + ("compare",))
        op_paths = [path + ("compare", j) for j in range(len(names))]
        if len(set(map(str, names))) != len(names):
            raise src.error("an op appears twice in compare", path + ("compare",))
    else:
        names, op_paths = [raw["op"]], [path + ("op",)]
        for key in ("rtol", "atol"):
            if key in raw:
                raise src.error(f"{key!r} applies to 'compare' steps only", path + (key,))
    for op_name, op_path in zip(names, op_paths):
        if not isinstance(op_name, str) or op_name not in registry:
            raise src.error(registry.missing_message(op_name), op_path)
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise src.error("expected a mapping of parameter -> value", path + ("params",))
    _check_values(src, params, variables, {s.name for s in earlier}, path + ("params",))
    for op_name in names:
        op = registry.get(op_name)
        try:
            op.signature.bind(**params)
        except TypeError as exc:
            accepted = ", ".join(op.signature.parameters) or "nothing"
            raise src.error(f"op {op.name!r}: {exc} (it takes: {accepted})", path + ("params",)) from None
    return Step(
        step_name, tuple(names), params, compare,
        rtol=_float_field(src, raw, "rtol", DEFAULT_RTOL, path),
        atol=_float_field(src, raw, "atol", DEFAULT_ATOL, path),
        repeat=_int_field(src, raw, "repeat", None, 1, path),
        warmup=_int_field(src, raw, "warmup", None, 0, path),
        min_time=_float_field(src, raw, "min_time", None, path),
    )


def _check_values(src: Source, value: Any, variables: set[str], earlier: set[str], path: tuple) -> None:
    """Every ``${var}`` is a sweep variable and every ``@step`` an earlier step."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_values(src, v, variables, earlier, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(src, v, variables, earlier, path + (i,))
    elif isinstance(value, str):
        if value.startswith("@") and not value.startswith("@@"):
            match = REFERENCE.match(value)
            if not match:
                raise src.error(f"bad reference {value!r}: expected '@step' or '@step.field'", path)
            if match.group(1) not in earlier:
                close = difflib.get_close_matches(match.group(1), sorted(earlier), n=1)
                hint = f" (did you mean '@{close[0]}'?)" if close else ""
                known = ", ".join(sorted(earlier)) or "none"
                raise src.error(f"reference {value!r} names no earlier step{hint}; earlier steps: {known}",
                                path)
        for var in VARIABLE.findall(value):
            if var not in variables:
                close = difflib.get_close_matches(var, sorted(variables), n=1)
                hint = f" (did you mean '${{{close[0]}}}'?)" if close else ""
                raise src.error(f"unknown sweep variable '${{{var}}}'{hint}; defined: "
                                f"{', '.join(sorted(variables))}", path)


def _references(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    if isinstance(value, str) and value.startswith("@") and not value.startswith("@@"):
        return {REFERENCE.match(value).group(1)}
    return set()


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Point:
    """One point of the sweep: its index, its variable values and its derived seed."""

    index: int
    values: dict[str, Any]
    seed: int


def plan(config: Config) -> list[Point]:
    """The grid product of the sweep times the rows of the zip, each point with its own seed.

    Without a sweep or zip there is one empty point. A point's seed is derived from the config's
    seed and the point's index, so the same config and seed give the same seeds.
    """
    names = list(config.sweep)
    rows = [dict(zip(config.zip, row)) for row in zip(*config.zip.values())] or [{}]
    points = []
    combos = itertools.product(itertools.product(*(config.sweep[n] for n in names)), rows)
    for index, (combo, row) in enumerate(combos):
        seed = int(np.random.SeedSequence([config.seed, index]).generate_state(1)[0])
        points.append(Point(index, {**dict(zip(names, combo)), **row}, seed))
    return points


def record_key(record: dict[str, Any]) -> tuple[int, str, str]:
    """What identifies a record within a run: (point index, step, op)."""
    return record["point_index"], record["step"], record["op"]


# --------------------------------------------------------------------------- execute: one point
class StepFailed(Exception):
    """A reference to a step that did not produce its output."""


def resolve(value: Any, variables: dict[str, Any], outputs: dict[str, Any]) -> Any:
    """Substitute ``${var}`` and ``@step[.field]`` in a parameter value."""
    if isinstance(value, dict):
        return {k: resolve(v, variables, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, variables, outputs) for v in value]
    if not isinstance(value, str):
        return value
    if value.startswith("@@"):
        return value[1:]
    if value.startswith("@"):
        step, fld = REFERENCE.match(value).groups()
        if step not in outputs:
            raise StepFailed(f"step {step!r} did not complete")
        out = outputs[step]
        if fld is None:
            return out
        if not isinstance(out, dict) or fld not in out:
            have = ", ".join(out) if isinstance(out, dict) else f"a single {type(out).__name__}"
            raise KeyError(f"{value!r}: step {step!r} has no output {fld!r} (it has: {have})")
        return out[fld]
    whole = VARIABLE.fullmatch(value)
    if whole:
        return variables[whole.group(1)]
    return VARIABLE.sub(lambda m: str(variables[m.group(1)]), value)


def _loop(func, params: dict[str, Any], number: int) -> tuple[Any, float]:
    """Call ``func(**params)`` ``number`` times; the first call's output and the total time."""
    start = time.perf_counter()
    result = func(**params)
    for _ in range(number - 1):
        func(**params)
    return result, time.perf_counter() - start


def _calibrate(func, params: dict[str, Any], min_time: float) -> tuple[Any, int, float]:
    """Calls per sample so that one sample lasts at least ``min_time`` (1, 2, 5, 10, 20, ...).

    Returns the output of the very first call, the number of calls per sample and the last
    trial's time per call, which is a valid sample.
    """
    result = None
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


def time_ops(calls: Sequence[tuple[Any, dict[str, Any]]], *, repeat: int, warmup: int,
             min_time: float) -> list[tuple[Any, dict[str, Any]] | Exception]:
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


def timing_summary(samples: list[float], number: int) -> dict[str, Any]:
    """Median, IQR, min, max of per-call times, with the raw samples."""
    q1, q3 = np.percentile(samples, [25, 75]) if len(samples) > 1 else (samples[0], samples[0])
    return {"median": statistics.median(samples), "iqr": float(q3 - q1), "min": min(samples),
            "max": max(samples), "repeat": len(samples), "number": number, "samples": list(samples)}


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


def _named(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {"value": result}


def difference(expected: Any, got: Any, *, rtol: float, atol: float) -> dict[str, Any]:
    """How ``got`` differs from ``expected``: exact for integers, ``rtol``/``atol`` for floats.

    Returns ``ok`` and, for numbers, the largest absolute difference, where it is, the two values
    there and how many elements disagree.
    """
    try:
        a, b = np.asarray(expected), np.asarray(got)
    except ValueError:  # ragged sequences: element by element
        a = b = None
        if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)) \
                and len(expected) == len(got):
            return agreement(dict(enumerate(expected)), dict(enumerate(got)), rtol=rtol, atol=atol)
    if a is None or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        same = _equal(expected, got)
        return {"ok": same, "detail": None if same else f"{got!r:.80} != {expected!r:.80}"}
    if a.shape != b.shape:
        return {"ok": False, "detail": f"shape {list(b.shape)} != baseline shape {list(a.shape)}"}
    if a.size == 0:
        return {"ok": True, "max_abs_diff": 0.0, "mismatched": 0}
    exact = a.dtype.kind in "biu" and b.dtype.kind in "biu"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(b64 - a64)
        bad = (a64 != b64) if exact else ~np.isclose(b64, a64, rtol=rtol, atol=atol, equal_nan=True)
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    diff = np.where(same, 0.0, np.nan_to_num(diff, nan=np.inf))
    where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0) if bad.any() else diff)), a.shape)
    out = {"ok": not bad.any(), "max_abs_diff": float(diff.max()), "mismatched": int(bad.sum()),
           "compared": "exact" if exact else f"rtol={rtol:g}, atol={atol:g}"}
    if bad.any():
        out.update(index=[int(i) for i in where], baseline=a[where].item(), got=b[where].item())
    return out


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) if type(a) is type(b) else False
    except Exception:  # incomparable values never pass silently
        return False


def agreement(baseline: Any, other: Any, *, rtol: float, atol: float) -> dict[str, Any]:
    """Check every output of the baseline against ``other``; report the worst key."""
    expected, got = _named(baseline), _named(other)
    worst: dict[str, Any] = {"ok": True, "key": None, "max_abs_diff": 0.0}
    for key, value in expected.items():
        if key not in got:
            return {"ok": False, "key": key, "detail": f"output {key!r} missing (it has: {', '.join(got)})"}
        diff = difference(value, got[key], rtol=rtol, atol=atol)
        diff["key"] = key if diff.get("key") is None else f"{key}[{diff['key']}]"
        if _rank(diff) > _rank(worst):
            worst = diff
    return worst


def _rank(diff: dict[str, Any]) -> tuple[bool, float]:
    """Failures first, then the largest difference; a failure without a number ranks highest."""
    return not diff["ok"], diff.get("max_abs_diff", float("inf") if not diff["ok"] else -1.0)


def _mismatch_message(check: dict[str, Any], baseline: str) -> str:
    if check.get("detail"):
        return f"output {check['key']!r} differs from {baseline}: {check['detail']}"
    return (f"output {check['key']!r} differs from {baseline}: {check['mismatched']} element(s) "
            f"({check['compared']}), largest |difference| {check['max_abs_diff']:.3g} at "
            f"{check['index']} ({check['got']!r} vs {check['baseline']!r})")


@dataclass
class PointTask:
    """Plain data a worker needs to run one point (config, point, seed, what is already done)."""

    config: dict[str, Any]
    plugins: tuple[str, ...]
    run_id: str
    run_dir: str
    executor: str
    point: Point
    done: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def run_point(task: PointTask, config: Config, registry: OpRegistry) -> Iterator[dict[str, Any]]:
    """Run every step of one point, yielding a record per (step, op) as soon as it exists.

    ``task.done`` holds the finished records of a resumed run, by (step, op): those are not redone;
    a finished step whose output a later step needs is called once more, untimed, for its output.
    """
    point = task.point
    variables = {**point.values, "seed": point.seed, "run_dir": task.run_dir}
    todo = {s.name: [op for op in s.ops if (s.name, op) not in task.done] for s in config.steps}
    needed: set[str] = set()
    for step in reversed(config.steps):
        if todo[step.name] or step.name in needed:
            needed |= step.references
    outputs: dict[str, Any] = {}
    for step in config.steps:
        if not todo[step.name] and step.name not in needed:
            continue
        yield from _run_step(task, step, registry, variables, outputs, todo[step.name], config)


def _base_record(task: PointTask, step: Step, op, config: Config) -> dict[str, Any]:
    point = task.point
    return {
        "experiment": config.name, "run_id": task.run_id, "point": point.values,
        "point_index": point.index, "seed": point.seed, "step": step.name, "op": op.name,
        "plugin": op.plugin, "status": "ok", "error": None, "time_s": None, "outputs": {},
        "metrics": {}, "baseline": step.ops[0] if step.compare else None, "time_ratio": None,
        "agreement": None, "executor": task.executor,
    }


def _run_step(task: PointTask, step: Step, registry: OpRegistry, variables: dict[str, Any],
              outputs: dict[str, Any], todo: list[str], config: Config) -> Iterator[dict[str, Any]]:
    ops = [registry.get(name) for name in step.ops]
    records = {op.name: _base_record(task, step, op, config) for op in ops}
    try:
        params = resolve(step.params, variables, outputs)
    except StepFailed as exc:
        for name in todo:
            records[name].update(status="skipped", error=str(exc))
            yield records[name]
        return
    except Exception as exc:  # e.g. a missing output field
        for name in todo:
            _fail(records[name], exc)
            yield records[name]
        return
    timed = [op for op in ops if op.name in todo]
    # The baseline's output is needed by dependents and by the agreement check, even when its
    # record is already finished (a resumed run): then it is called once, untimed.
    baseline = ops[0]
    results: dict[str, Any] = {}
    if baseline.name not in todo:
        try:
            results[baseline.name] = baseline.func(**copy.deepcopy(params))
        except Exception as exc:
            for name in todo:
                _fail(records[name], exc, f"baseline {baseline.name} failed on rerun: ")
                yield records[name]
            return
    calls = [(op.func, copy.deepcopy(params) if step.compare else params) for op in timed]
    timed_out = time_ops(calls, repeat=_pick(step.repeat, config.repeat),
                         warmup=_pick(step.warmup, config.warmup),
                         min_time=_pick(step.min_time, config.min_time))
    timings: dict[str, dict] = {}
    for op, got in zip(timed, timed_out):
        if isinstance(got, Exception):
            _fail(records[op.name], got)
        else:
            results[op.name], timings[op.name] = got
    if baseline.name in results:
        outputs[step.name] = results[baseline.name]
    base_median = (timings[baseline.name]["median"] if baseline.name in timings
                   else (task.done.get((step.name, baseline.name)) or {}).get("time_s", {}).get("median"))
    for op in timed:
        record = records[op.name]
        if op.name in timings:
            named = _named(results[op.name])
            record.update(time_s=timings[op.name], outputs={k: describe(v) for k, v in named.items()},
                          metrics=metrics_of(named))
            if step.compare:
                _judge(record, step, op.name, baseline.name, results, base_median)
        yield record


def _judge(record: dict, step: Step, name: str, baseline: str, results: dict, base_median) -> None:
    """Fill a compare record's time ratio and agreement with the baseline."""
    if base_median:
        record["time_ratio"] = record["time_s"]["median"] / base_median
    if name == baseline:
        return
    if baseline not in results:
        record["agreement"] = {"ok": None, "detail": f"baseline {baseline} failed; nothing to compare"}
        return
    check = agreement(results[baseline], results[name], rtol=step.rtol, atol=step.atol)
    record["agreement"] = check
    if not check["ok"]:
        record.update(status="mismatch", error=_mismatch_message(check, baseline))


def _pick(value, default):
    return default if value is None else value


def _fail(record: dict[str, Any], exc: BaseException, prefix: str = "") -> None:
    record.update(status="error", error=f"{prefix}{type(exc).__name__}: {exc}",
                  traceback="".join(traceback.format_exception(exc)))


# --------------------------------------------------------------------------- execute: executors
_WORKER_REGISTRIES: dict[tuple[str, ...], OpRegistry] = {}


def run_point_remote(task: PointTask) -> list[dict[str, Any]]:
    """A worker's entry point: load the plugins itself, run one point, return its records."""
    registry = _WORKER_REGISTRIES.get(task.plugins)
    if registry is None:
        pm = get_plugin_manager()
        load_plugins(pm, task.plugins)
        registry = _WORKER_REGISTRIES[task.plugins] = collect_ops(pm)
    config = validate(Source(copy.deepcopy(task.config), "<worker>"), registry)
    return list(run_point(task, config, registry))


def _serial(tasks: list[PointTask], config: Config, registry: OpRegistry, workers) -> Iterator[dict]:
    for task in tasks:
        yield from run_point(task, config, registry)


def _process(tasks: list[PointTask], config: Config, registry: OpRegistry, workers) -> Iterator[dict]:
    import multiprocessing

    remote = importlib.import_module("shouxie.runner").run_point_remote
    pool = multiprocessing.get_context("spawn").Pool(workers or os.cpu_count())
    try:
        for records in pool.imap(remote, tasks):  # in submission order
            yield from records
    finally:  # also on Ctrl-C or --fail-fast: stop the workers now, not after their current point
        pool.terminate()
        pool.join()


def _dask(tasks: list[PointTask], config: Config, registry: OpRegistry, workers) -> Iterator[dict]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("executor 'dask' needs dask.distributed: pip install 'shouxie[dask]'",
                          path=("executor",)) from None
    remote = importlib.import_module("shouxie.runner").run_point_remote
    address = config.executor.address
    with contextlib.ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(LocalCluster(n_workers=workers or os.cpu_count(),
                                                       threads_per_worker=1, dashboard_address=None))
            address = cluster
        client = stack.enter_context(Client(address))
        futures = [client.submit(remote, task, pure=False) for task in tasks]
        try:
            for future in futures:
                yield from future.result()
        finally:
            client.cancel(futures)


EXECUTE = {"serial": _serial, "process": _process, "dask": _dask}


# --------------------------------------------------------------------------- execute: the run
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
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name


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


def _emit(run: Run, pm, record: dict[str, Any]) -> None:
    with _interrupt_deferred():
        run.records.append(record)
        pm.hook.shouxie_record(record=record, run=run)


def new_run(config: Config, *, out: str | Path, source: str, options: dict | None = None) -> Run:
    """A fresh run directory ``<out>/<name>/<timestamp>-<id>/``."""
    started = _dt.datetime.now().astimezone()
    run_id = uuid.uuid4().hex[:8]
    run_dir = Path(out) / config.name / f"{started:%Y%m%d-%H%M%S}-{run_id}"
    run_dir.mkdir(parents=True, exist_ok=False)
    return Run(config, run_id, run_dir, source, started.isoformat(timespec="seconds"), plan(config),
               Path(out), options=dict(options or {}))


def execute(config: Config, registry: OpRegistry, pm, *, out: str | Path = "runs",
            source: str = "<config>", run: Run | None = None, fail_fast: bool = False,
            options: dict | None = None) -> Run:
    """Run every step at every point; emit a record for each through the plugin hooks.

    ``run`` continues an existing run (``--resume``): its ``records`` are the finished ones, which
    are not redone. A ``KeyboardInterrupt`` ends the run cleanly (every emitted record is on disk)
    and propagates.
    """
    run = run or new_run(config, out=out, source=source, options=options)
    run.total = len(run.points) * sum(len(s.ops) for s in config.steps)
    done: dict[int, dict[tuple[str, str], dict]] = {}
    for r in run.records:
        done.setdefault(r["point_index"], {})[(r["step"], r["op"])] = r
    per_point = sum(len(s.ops) for s in config.steps)
    plugin_names = tuple(dict.fromkeys([*config.plugins, *run.options.get("plugins", ())]))
    tasks = [PointTask(config.as_dict(), plugin_names, run.run_id, str(run.dir), config.executor.type,
                       point, done.get(point.index, {}))
             for point in run.points if len(done.get(point.index, {})) < per_point]
    pm.hook.shouxie_run_started(run=run)
    wall = time.perf_counter()
    status = "finished"
    try:
        for record in EXECUTE[config.executor.type](tasks, config, registry, config.executor.workers):
            _emit(run, pm, record)
            if fail_fast and record["status"] not in FINISHED:
                status = "failed-fast"
                break
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        counts = {s: sum(r["status"] == s for r in run.records) for s in STATUSES}
        summary = {"status": status, "counts": counts, "records": len(run.records),
                   "total": run.total, "wall_time_s": time.perf_counter() - wall}
        pm.hook.shouxie_run_finished(run=run, summary=summary)
    return run


# --------------------------------------------------------------------------- resume
def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a ``results.jsonl``; a last line cut short by a crash is ignored."""
    records = []
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i != len(lines) - 1:
                raise ConfigError(f"line {i + 1} is not valid JSON", source=str(path)) from None
    return records


def resume_run(run_dir: str | Path, config: Config, *, options: dict | None = None) -> Run:
    """The run at ``run_dir`` with its finished records, ready for :func:`execute` to complete."""
    run_dir = Path(run_dir)
    records = load_records(run_dir / "results.jsonl")
    run_id = records[0]["run_id"] if records else run_dir.name.rsplit("-", 1)[-1]
    kept = {record_key(r): r for r in records if r["status"] in FINISHED}
    started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return Run(config, run_id, run_dir, str(run_dir / "config.yaml"), started, plan(config),
               run_dir.parent.parent, resumed=True, options=dict(options or {}),
               records=list(kept.values()))


# --------------------------------------------------------------------------- library entry point
def prepare(path: str | Path, pm, *, overrides: Sequence[str] = (), sweeps: Sequence[str] = (),
            plugins: Sequence[str] = ()) -> tuple[Config, OpRegistry]:
    """Load a config, apply command-line overrides, load its plugins and validate it."""
    src = load_source(path)
    for assignment in overrides:
        apply_override(src, assignment)
    for assignment in sweeps:
        apply_sweep(src, assignment)
    names = config_plugins(src)
    for i, name in enumerate([*names, *plugins]):
        try:
            load_plugins(pm, [name])
        except Exception as exc:
            where = ("plugins", i) if i < len(names) else ()
            raise src.error(f"cannot load plugin {name!r}: {type(exc).__name__}: {exc}", where) from None
    registry = collect_ops(pm)
    return validate(src, registry), registry


def run_config(path: str | Path, *, out: str | Path = "runs", pm=None, overrides: Sequence[str] = (),
               sweeps: Sequence[str] = (), plugins: Sequence[str] = (), fail_fast: bool = False,
               quiet: bool = False, resume: str | Path | None = None) -> Run:
    """Load, validate and execute the config at ``path``; the library entry point of ``shouxie run``.

    With ``resume`` (a run directory), ``path`` is that run's saved ``config.yaml`` and the run is
    completed in place.
    """
    pm = pm or get_plugin_manager()
    config, registry = prepare(path, pm, overrides=overrides, sweeps=sweeps, plugins=plugins)
    options = {"quiet": quiet, "plugins": tuple(plugins)}
    run = resume_run(resume, config, options=options) if resume is not None else None
    return execute(config, registry, pm, out=out, source=str(path), run=run, fail_fast=fail_fast,
                   options=options)


# --------------------------------------------------------------------------- command line
def exit_code(run: Run) -> int:
    complete = len(run.records) == run.total
    return EXIT_OK if complete and all(r["status"] == "ok" for r in run.records) else EXIT_FAILED_RECORDS


def _cmd_run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.config is not None or args.set or args.sweep:
            raise ConfigError("--resume RUN_DIR takes no CONFIG, -s or --sweep: the run's saved "
                              "config.yaml is what it resumes", source="command line")
        args.config = Path(args.resume) / "config.yaml"
    elif args.config is None:
        raise ConfigError("expected a CONFIG.yaml (or --resume RUN_DIR)", source="command line")
    if args.dry_run:
        config, _ = prepare(args.config, args.pm, overrides=args.set, sweeps=args.sweep, plugins=args.plugin)
        print(dry_run_listing(config))
        return EXIT_OK
    run = run_config(args.config, out=args.out, pm=args.pm, overrides=args.set, sweeps=args.sweep,
                     plugins=args.plugin, fail_fast=args.fail_fast, quiet=args.quiet,
                     resume=args.resume)
    return exit_code(run)


def dry_run_listing(config: Config) -> str:
    """What a run would do: every point with its seed, then the steps and their ops."""
    points = plan(config)
    lines = [f"{config.name}: valid; {len(points)} point(s) x {len(config.steps)} step(s) "
             f"(executor {config.executor.type}, repeat {config.repeat}, warmup {config.warmup})"]
    for step in config.steps:
        what = f"compare {', '.join(step.ops)} (baseline {step.ops[0]})" if step.compare else step.ops[0]
        lines.append(f"  step {step.name}: {what}")
    for point in points:
        values = ", ".join(f"{k}={v}" for k, v in point.values.items()) or "-"
        lines.append(f"  point {point.index}: {values} (seed {point.seed})")
    return "\n".join(lines)


def _cmd_ops(args: argparse.Namespace) -> int:
    ops = list(collect_ops(args.pm))
    if args.json:
        print(json.dumps([{"name": op.name, "plugin": op.plugin, "summary": op.summary,
                           "signature": str(op.signature)} for op in ops], indent=2))
        return EXIT_OK
    width_name = max((len(op.name) for op in ops), default=4)
    width_plugin = max((len(op.plugin) for op in ops), default=6)
    print(f"{'op':<{width_name}}  {'plugin':<{width_plugin}}  summary")
    for op in ops:
        print(f"{op.name:<{width_name}}  {op.plugin:<{width_plugin}}  {op.summary}")
    return EXIT_OK


def build_parser(pm) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shouxie", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run an experiment from a YAML config")
    run.add_argument("config", nargs="?", help="path to the YAML config")
    run.add_argument("--out", default="runs", help="base directory for run directories (default: runs)")
    run.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key (dotted path; steps by name), e.g. -s repeat=10")
    run.add_argument("--sweep", action="append", default=[], metavar="VAR=A,B,C",
                     help="replace a sweep axis, e.g. --sweep n=1000,2000")
    run.add_argument("-p", "--plugin", action="append", default=[], metavar="NAME",
                     help="load a plugin (entry-point name or module path) for this run")
    run.add_argument("--dry-run", action="store_true",
                     help="validate the config and list the points and steps, running nothing")
    run.add_argument("--resume", metavar="RUN_DIR", help="finish an interrupted or partly failed run")
    run.add_argument("--fail-fast", action="store_true", help="stop at the first failed record")
    run.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=_cmd_run)
    ops = sub.add_parser("ops", help="list every registered op")
    ops.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ops.set_defaults(func=_cmd_ops)
    pm.hook.shouxie_register_commands(subparsers=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith((".yaml", ".yml")):
        argv.insert(0, "run")  # `python runner.py CONFIG.yaml`
    try:
        pm = get_plugin_manager()
        args = build_parser(pm).parse_args(argv)
        args.pm = pm
        return args.func(args)
    except ConfigError as exc:
        print(f"shouxie: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shouxie: interrupted; finished records are saved (shouxie run --resume RUN_DIR "
              "completes the run)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse usage errors
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK


if __name__ == "__main__":  # run as the installed module, so workers can unpickle its classes
    sys.exit(importlib.import_module("shouxie.runner").main())
