"""shouxie.runner: run an experiment described in YAML.

The runner only orchestrates: load -> validate -> plan -> execute -> emit records. Ops come from
the plugin manager's registry; whatever consumes records (the run directory writer, the summary
table, third-party sinks) is an observer plugin called through the ``shouxie_run_started``,
``shouxie_record`` and ``shouxie_run_finished`` hooks.

Usage: ``shouxie run CONFIG.yaml [--out DIR]``, ``shouxie ops``, or ``python runner.py CONFIG.yaml``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import difflib
import gc
import itertools
import json
import re
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shouxie.plugins import collect_ops, get_plugin_manager
from shouxie.plugins.registry import OpRegistry

EXIT_OK, EXIT_FAILED_RECORDS, EXIT_INTERRUPTED, EXIT_USAGE = 0, 1, 2, 4

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REFERENCE = re.compile(r"^@([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Variables every config can use besides its sweep variables.
BUILTIN_VARIABLES = {
    "seed": "each point's seed, derived from the config's seed and the point's index",
    "run_dir": "the run's directory, for ops that write files",
}


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
    """A loaded YAML document with the line of every key, for error messages."""

    data: Any
    name: str = "<config>"
    lines: dict[tuple, int] = field(default_factory=dict)

    def error(self, message: str, path: Sequence[str | int] = ()) -> ConfigError:
        path = tuple(path)
        for cut in range(len(path), -1, -1):
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


# --------------------------------------------------------------------------- validate
@dataclass(frozen=True)
class Step:
    name: str
    op: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Config:
    """A validated experiment."""

    name: str
    seed: int
    repeat: int
    warmup: int
    sweep: dict[str, list]
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in: what a run saves as ``config.yaml``."""
        return {
            "name": self.name, "seed": self.seed, "repeat": self.repeat, "warmup": self.warmup,
            "sweep": {k: list(v) for k, v in self.sweep.items()},
            "steps": [{"name": s.name, "op": s.op, "params": s.params} for s in self.steps],
        }


TOP_KEYS = {"name", "seed", "repeat", "warmup", "sweep", "steps"}
STEP_KEYS = {"name", "op", "params"}


def _reject_unknown(src: Source, mapping: dict, allowed: set[str], path: tuple) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise src.error(f"unknown key {key!r}{hint}; expected one of {', '.join(sorted(allowed))}",
                            path + (key,))


def _int_field(src: Source, data: dict, key: str, default: int, low: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise src.error(f"expected an integer >= {low}, got {value!r}", (key,))
    return value


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

    sweep = data.get("sweep") or {}
    if not isinstance(sweep, dict):
        raise src.error("expected a mapping of variable -> list of values", ("sweep",))
    for var, values in sweep.items():
        if not isinstance(var, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise src.error("a sweep variable is an identifier", ("sweep", var))
        if var in BUILTIN_VARIABLES:
            raise src.error(f"{var!r} is reserved: {BUILTIN_VARIABLES[var]}", ("sweep", var))
        if not isinstance(values, list) or not values:
            raise src.error("expected a non-empty list of values", ("sweep", var))

    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise src.error("expected a non-empty list of steps", ("steps",))
    variables = set(sweep) | set(BUILTIN_VARIABLES)
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        path = ("steps", i)
        if not isinstance(raw, dict):
            raise src.error("a step is a mapping with 'name', 'op' and 'params'", path)
        _reject_unknown(src, raw, STEP_KEYS, path)
        for key in ("name", "op"):
            if key not in raw:
                raise src.error(f"missing required key {key!r}", path)
        step_name = raw["name"]
        if not isinstance(step_name, str) or not REFERENCE.match("@" + step_name) or "." in step_name:
            raise src.error("a step name is an identifier (letters, digits, '_', '-')", path + ("name",))
        if any(s.name == step_name for s in steps):
            raise src.error(f"duplicate step name {step_name!r}", path + ("name",))
        if raw["op"] not in registry:
            raise src.error(registry.missing_message(raw["op"]), path + ("op",))
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise src.error("expected a mapping of parameter -> value", path + ("params",))
        _check_values(src, params, variables, {s.name for s in steps}, path + ("params",))
        op = registry.get(raw["op"])
        try:
            op.signature.bind(**params)
        except TypeError as exc:
            accepted = ", ".join(op.signature.parameters) or "nothing"
            raise src.error(f"op {op.name!r}: {exc} (it takes: {accepted})", path + ("params",)) from None
        steps.append(Step(step_name, raw["op"], params))
    return Config(name, seed, repeat, warmup, sweep, tuple(steps))


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


# --------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Point:
    """One point of the sweep: its index, its variable values and its derived seed."""

    index: int
    values: dict[str, Any]
    seed: int


def plan(config: Config) -> list[Point]:
    """The grid product of the sweep (one empty point without a sweep), each with its own seed."""
    names = list(config.sweep)
    points = []
    for index, combo in enumerate(itertools.product(*(config.sweep[n] for n in names))):
        seed = int(np.random.SeedSequence([config.seed, index]).generate_state(1)[0])
        points.append(Point(index, dict(zip(names, combo)), seed))
    return points


# --------------------------------------------------------------------------- execute
@dataclass
class Run:
    """A run in progress: what observers receive."""

    config: Config
    run_id: str
    dir: Path
    source: str
    started: str
    points: list[Point]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name


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


def time_call(func, params: dict[str, Any], *, repeat: int, warmup: int) -> tuple[Any, list[float]]:
    """Call ``func(**params)`` ``warmup`` times untimed, then ``repeat`` times timed (GC off)."""
    for _ in range(warmup):
        func(**params)
    samples = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            result = func(**params)
            samples.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return result, samples


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


def execute(config: Config, registry: OpRegistry, pm, *, out: str | Path = "runs",
            source: str = "<config>") -> Run:
    """Run every step at every point; emit a record for each through the plugin hooks."""
    started = _dt.datetime.now().astimezone()
    run_id = uuid.uuid4().hex[:8]
    run_dir = Path(out) / config.name / f"{started:%Y%m%d-%H%M%S}-{run_id}"
    run_dir.mkdir(parents=True, exist_ok=False)
    run = Run(config, run_id, run_dir, source, started.isoformat(timespec="seconds"), plan(config))
    pm.hook.shouxie_run_started(run=run)
    wall = time.perf_counter()
    status = "finished"
    try:
        for point in run.points:
            _execute_point(run, point, registry, pm)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        counts = {s: sum(r["status"] == s for r in run.records) for s in ("ok", "error", "skipped")}
        summary = {"status": status, "counts": counts, "records": len(run.records),
                   "wall_time_s": time.perf_counter() - wall}
        pm.hook.shouxie_run_finished(run=run, summary=summary)
    return run


def _execute_point(run: Run, point: Point, registry: OpRegistry, pm) -> None:
    config = run.config
    variables = {**point.values, "seed": point.seed, "run_dir": str(run.dir)}
    outputs: dict[str, Any] = {}
    for step in config.steps:
        op = registry.get(step.op)
        record: dict[str, Any] = {
            "experiment": config.name, "run_id": run.run_id, "point": point.values,
            "point_index": point.index, "seed": point.seed, "step": step.name, "op": op.name,
            "plugin": op.plugin, "status": "ok", "error": None, "time_s": None,
            "outputs": {}, "metrics": {},
        }
        try:
            params = resolve(step.params, variables, outputs)
            result, samples = time_call(op.func, params, repeat=config.repeat, warmup=config.warmup)
        except StepFailed as exc:
            record.update(status="skipped", error=str(exc))
        except Exception as exc:  # an op's failure is a record, not a crash
            record.update(status="error", error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc())
        else:
            outputs[step.name] = result
            named = result if isinstance(result, dict) else {"value": result}
            record["time_s"] = {"median": statistics.median(samples), "min": min(samples),
                                "max": max(samples), "repeat": len(samples)}
            record["outputs"] = {k: describe(v) for k, v in named.items()}
            record["metrics"] = metrics_of(named)
        run.records.append(record)
        pm.hook.shouxie_record(record=record, run=run)


def run_config(path: str | Path, *, out: str | Path = "runs", pm=None) -> Run:
    """Load, validate and execute the config at ``path``; the library entry point of ``shouxie run``."""
    pm = pm or get_plugin_manager()
    registry = collect_ops(pm)
    src = load_source(path)
    config = validate(src, registry)
    return execute(config, registry, pm, out=out, source=str(path))


# --------------------------------------------------------------------------- command line
def _cmd_run(args: argparse.Namespace) -> int:
    run = run_config(args.config, out=args.out, pm=args.pm)
    return EXIT_OK if all(r["status"] == "ok" for r in run.records) else EXIT_FAILED_RECORDS


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
    run.add_argument("config", help="path to the YAML config")
    run.add_argument("--out", default="runs", help="base directory for run directories (default: runs)")
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
        print("shouxie: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse usage errors
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
