"""The experiment schema: typed dataclasses and :func:`validate`, which checks a loaded config
against them and against the op registry, with a did-you-mean and a file:line for every error."""
from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .params import REFERENCE, check_values, references
from .executors import Executor, executor_setting
from .source import ConfigError, KeyPath, Source, float_field, int_field, reject_unknown

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: An experiment's name is a directory name under ``--out``: at most this long.
MAX_NAME = 100
#: A run has at most this many sweep/zip points (each runs every step): a larger sweep is refused
#: before anything runs.
MAX_POINTS = 100_000
#: Variables every config can use besides its sweep variables.
BUILTIN_VARIABLES = {
    "seed": "each point's seed, derived from the config's seed and the point's index",
    "run_dir": "the run's directory, for ops that write files",
}
DEFAULT_MIN_TIME = 2e-4
DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-8
TOP_KEYS = {"name", "seed", "repeat", "warmup", "min_time", "sweep", "zip", "plugins", "executor", "steps"}
STEP_KEYS = {"name", "op", "compare", "params", "rtol", "atol", "repeat", "warmup", "min_time"}


class OpLike(Protocol):
    """What the engine needs of a registered op (``shouxie.plugins.registry.Op`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def plugin(self) -> str: ...
    @property
    def func(self) -> Callable[..., Any]: ...
    @property
    def signature(self) -> inspect.Signature: ...


class Registry(Protocol):
    """What the engine needs of the op registry (``shouxie.plugins.registry.OpRegistry`` is one)."""

    def __contains__(self, name: object) -> bool: ...
    def get(self, name: str) -> OpLike: ...
    def missing_message(self, name: str) -> str: ...


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
        return references(self.params)

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
class Config:
    """A validated experiment."""

    name: str
    seed: int
    repeat: int
    warmup: int
    min_time: float
    sweep: dict[str, list[Any]]
    zip: dict[str, list[Any]]
    plugins: tuple[str, ...]
    executor: Executor
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in: what a run saves as ``config.yaml``."""
        executor: dict[str, Any] = {"type": self.executor.type}
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


def _axes(src: Source, data: dict[str, Any], key: str, taken: set[str]) -> dict[str, list[Any]]:
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


def _check_points(src: Source, sweep: dict[str, list[Any]], zipped: dict[str, list[Any]]) -> None:
    """Refuse more than ``MAX_POINTS`` points, counted without building them."""
    sizes = {var: len(values) for var, values in sweep.items()}
    if zipped:
        sizes["zip"] = len(next(iter(zipped.values())))
    count = math.prod(sizes.values())
    if count > MAX_POINTS:
        axes = " x ".join(f"{var}: {n:,}" for var, n in sizes.items())
        raise src.error(f"the sweep has {count:,} points ({axes}); a run has at most {MAX_POINTS:,}: "
                        "split it into several configs", ("sweep",) if sweep else ("zip",))


def config_plugins(src: Source) -> tuple[str, ...]:
    """The ``plugins:`` list of a loaded config (checked: a list of module or entry-point names)."""
    names = src.data.get("plugins") or [] if isinstance(src.data, dict) else []
    if not isinstance(names, list):
        raise src.error("expected a list of plugin module names", ("plugins",))
    for i, name in enumerate(names):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            raise src.error(f"expected a module or entry-point name, got {name!r}", ("plugins", i))
    return tuple(names)


def validate(src: Source, registry: Registry, *, bind: bool = True) -> Config:
    """Check a loaded config against the schema and the registry; return it typed.

    With ``bind`` (the default) each step's params must bind to its ops' signatures; the
    conformance kit turns that off to bind them itself, to more ops than the config names.
    """
    data = src.data
    if not isinstance(data, dict):
        raise src.error(f"a config is a mapping with 'name' and 'steps', got {type(data).__name__}")
    reject_unknown(src, data, TOP_KEYS, ())
    for key in ("name", "steps"):
        if key not in data:
            raise src.error(f"missing required key {key!r}")
    name = data["name"]
    if not isinstance(name, str) or not NAME.match(name) or len(name) > MAX_NAME:
        raise src.error(f"expected a name of letters, digits, '_', '.', '-' (a directory name: it "
                        f"cannot start with '.', hold '/', or exceed {MAX_NAME} characters)", ("name",))
    seed = int_field(src, data, "seed", 0, 0)
    repeat = int_field(src, data, "repeat", 1, 1)
    warmup = int_field(src, data, "warmup", 0, 0)
    min_time = float_field(src, data, "min_time", DEFAULT_MIN_TIME)
    zipped = _axes(src, data, "zip", set())
    sweep = _axes(src, data, "sweep", set(zipped))
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in zipped.items())
        raise src.error(f"zip lists must have equal lengths, got {sizes}", ("zip",))
    _check_points(src, sweep, zipped)
    plugins = config_plugins(src)
    executor = executor_setting(src, data)

    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise src.error("expected a non-empty list of steps", ("steps",))
    variables = set(sweep) | set(zipped) | set(BUILTIN_VARIABLES)
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        steps.append(_validate_step(src, raw, ("steps", i), registry, variables, steps, bind))
    return Config(name, seed, repeat, warmup, min_time, sweep, zipped, plugins, executor, tuple(steps))


def _validate_step(src: Source, raw: Any, path: KeyPath, registry: Registry, variables: set[str],
                   earlier: list[Step], bind: bool) -> Step:
    if not isinstance(raw, dict):
        raise src.error("a step is a mapping with 'name', 'op' (or 'compare') and 'params'", path)
    reject_unknown(src, raw, STEP_KEYS, path)
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
    check_values(src, params, variables, {s.name for s in earlier}, path + ("params",))
    for op_name in names if bind else ():
        op = registry.get(op_name)
        try:
            op.signature.bind(**params)
        except TypeError as exc:
            accepted = ", ".join(op.signature.parameters) or "nothing"
            raise src.error(f"op {op.name!r}: {exc} (it takes: {accepted})", path + ("params",)) from None
    return Step(
        step_name, tuple(names), params, compare,
        rtol=float_field(src, raw, "rtol", DEFAULT_RTOL, path),
        atol=float_field(src, raw, "atol", DEFAULT_ATOL, path),
        repeat=int_field(src, raw, "repeat", None, 1, path),
        warmup=int_field(src, raw, "warmup", None, 0, path),
        min_time=float_field(src, raw, "min_time", None, path),
    )
