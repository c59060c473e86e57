"""Conformance checks for shouxie ops, to call from a plugin's own pytest suite.

Every op must:

- have a one-line summary and a docstring;
- take keyword arguments (no positional-only parameters, no ``*args``), and bind the params its
  examples use;
- return a numpy array, a scalar, or a dict of them keyed by identifiers (so ``@step.field`` works);
- give the same result when called twice with the same params (an op that takes ``seed`` gets a
  fixed one), and leave its inputs unchanged.

A failed check raises :class:`ConformanceError` (an ``AssertionError``) naming the op. Typical use::

    import my_plugin
    from shouxie.plugins import testing

    def test_my_plugin_conforms():
        testing.check_plugin(my_plugin, examples={"mine.box_areas": [{"boxes": [[0, 0, 2, 3]]}]})

    def test_my_config_runs_conforming_ops(tmp_path):
        testing.check_config("configs/mine.yaml", run_dir=tmp_path)
"""
from __future__ import annotations

import copy
import inspect
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shouxie.engine.config import Config, config_plugins, validate
from shouxie.engine.params import StepFailed, resolve
from shouxie.engine.source import ConfigError, load_source

from .manager import registry_for
from .registry import Op, OpRegistry, Registrar

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCALARS = (bool, int, float, complex, str, np.generic)
KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY,
                 inspect.Parameter.VAR_KEYWORD)


class ConformanceError(AssertionError):
    """An op breaks a rule every shouxie op follows."""


def plugin_ops(plugin: object, name: str = "plugin") -> list[Op]:
    """The ops ``plugin`` (a module or object with a ``shouxie_register_ops`` hook) registers."""
    hook = getattr(plugin, "shouxie_register_ops", None)
    if hook is None:
        raise ConformanceError(f"{plugin!r} has no shouxie_register_ops hook")
    registry = OpRegistry()
    hook(registry=Registrar(registry, name))
    return list(registry)


def check_metadata(op: Op) -> None:
    """A summary, a docstring, and a signature that takes keyword arguments only."""
    if not op.summary.strip():
        raise ConformanceError(f"op {op.name!r} has no summary (give its function a docstring)")
    if not op.doc.strip():
        raise ConformanceError(f"op {op.name!r} has no docstring")
    for param in op.signature.parameters.values():
        if param.kind not in KEYWORD_KINDS:
            raise ConformanceError(f"op {op.name!r}: parameter {param.name!r} is {param.kind.description}; "
                                   "ops are called with keyword arguments only")


def check_binds(op: Op, params: Mapping[str, Any]) -> None:
    """``op``'s signature accepts ``params`` as keyword arguments."""
    try:
        op.signature.bind(**params)
    except TypeError as exc:
        raise ConformanceError(f"op {op.name!r} does not accept params {sorted(params)}: {exc} "
                               f"(it takes: {', '.join(op.signature.parameters) or 'nothing'})") from None


def check_outputs(op: Op, result: Any) -> None:
    """``result`` is an array, a scalar, or a non-empty dict of them with identifier keys."""
    named = result if isinstance(result, dict) else {None: result}
    if not named:
        raise ConformanceError(f"op {op.name!r} returned an empty dict")
    for key, value in named.items():
        where = f"output {key!r}" if key is not None else "its result"
        if key is not None and not (isinstance(key, str) and IDENTIFIER.match(key)):
            raise ConformanceError(f"op {op.name!r}: output name {key!r} is not an identifier, "
                                   "so '@step.field' cannot name it")
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                raise ConformanceError(f"op {op.name!r}: {where} is an object array")
        elif not isinstance(value, SCALARS):
            raise ConformanceError(f"op {op.name!r}: {where} is a {type(value).__name__}; an op returns "
                                   "numpy arrays, scalars, or a dict of them")


def _same(a: Any, b: Any, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """``a`` and ``b`` have the same structure, types, dtypes and values (NaN equals NaN); floats
    may differ by ``atol + rtol * |b|``."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k], rtol, atol) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y, rtol, atol) for x, y in zip(a, b)))
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, np.generic, float, complex)):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
        return bool(np.array_equal(a, b))
    return bool(a == b)


def check_call(op: Op, params: Mapping[str, Any] | None = None, *, seed: int = 0,
               rtol: float = 0.0, atol: float = 0.0) -> Any:
    """Call ``op(**params)`` twice and check the result; return the first result.

    ``seed`` is added to ``params`` when the op takes a ``seed`` the params leave out. The op must
    accept the params, return arrays/scalars (or a dict of them), return the same result both
    times — bit for bit unless ``rtol``/``atol`` allow floats to differ (e.g. multi-threaded
    reductions that sum in a different order) — and not modify its inputs.
    """
    params = dict(params or {})
    if "seed" in op.signature.parameters and "seed" not in params:
        params["seed"] = seed
    check_binds(op, params)
    pristine = copy.deepcopy(params)
    first = op(**params)
    check_outputs(op, first)
    for key in params:
        if not _same(params[key], pristine[key]):
            raise ConformanceError(f"op {op.name!r} modified its input {key!r}")
    second = op(**copy.deepcopy(pristine))
    if not _same(first, second, rtol, atol):
        raise ConformanceError(f"op {op.name!r} is not deterministic: two calls with the same params "
                               f"{'(seed included) ' if 'seed' in params else ''}gave different results")
    return first


def required_params(op: Op) -> list[str]:
    """The parameters of ``op`` without a default."""
    return [p.name for p in op.signature.parameters.values()
            if p.default is p.empty and p.kind is not p.VAR_KEYWORD]


def check_op(op: Op, examples: Iterable[Mapping[str, Any]] = (), *, seed: int = 0,
             rtol: float = 0.0, atol: float = 0.0) -> int:
    """:func:`check_metadata`, then :func:`check_call` on each example; return how many ran.

    Without examples an op whose parameters all have defaults is called with none; one with
    required parameters must be given examples.
    """
    check_metadata(op)
    examples = list(examples)
    if not examples:
        if required_params(op):
            raise ConformanceError(f"op {op.name!r} takes required params {required_params(op)}; "
                                   "give it at least one example")
        examples = [{}]
    for params in examples:
        check_call(op, params, seed=seed, rtol=rtol, atol=atol)
    return len(examples)


def check_plugin(plugin: object, examples: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
                 *, seed: int = 0, rtol: float = 0.0, atol: float = 0.0) -> list[Op]:
    """:func:`check_op` on every op ``plugin`` registers, with ``examples[op name]``; return the ops."""
    examples = dict(examples or {})
    ops = plugin_ops(plugin)
    unknown = set(examples) - {op.name for op in ops}
    if unknown:
        raise ConformanceError(f"examples name ops the plugin does not register: {sorted(unknown)}")
    for op in ops:
        check_op(op, examples.get(op.name, ()), seed=seed, rtol=rtol, atol=atol)
    return ops


def _cheapest(values: list) -> Any:
    """The smallest value of a sweep when they are all numbers, else the first."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return min(values)
    return values[0]


def config_registry(config: Mapping[str, Any]) -> OpRegistry:
    """The ops a config can use: built-in and installed plugins, plus its ``plugins:`` list."""
    return registry_for(tuple(config.get("plugins") or ()))


def compare_groups(paths: Iterable[str | Path]) -> dict[str, list[str]]:
    """``{op: the other ops it is compared with}`` from the ``compare:`` steps of configs."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        steps = load_source(path).data["steps"]
        for step in steps:
            for name in step.get("compare") or ():
                others = groups.setdefault(name, [])
                others += [o for o in step["compare"] if o != name and o not in others]
    return groups


def _validated(path: str | Path, registry: OpRegistry | None) -> tuple[Config, OpRegistry]:
    """The config at ``path`` validated by the runner's own :func:`validate` (params unbound)."""
    src = load_source(path)
    registry = registry if registry is not None else registry_for(config_plugins(src))
    try:
        return validate(src, registry, bind=False), registry
    except ConfigError as exc:
        where = f"{path}"
        if exc.path[:1] == ("steps",) and len(exc.path) > 1:
            step = src.data["steps"][exc.path[1]]
            where += f": step {step.get('name')!r}" if isinstance(step, dict) else ""
        raise ConformanceError(f"{where}: {exc.message}") from None


def check_config(path: str | Path, registry: OpRegistry | None = None, *, execute: bool = True,
                 run_dir: str | Path | None = None, alike: Mapping[str, Iterable[str]] | None = None,
                 rtol: float = 0.0, atol: float = 0.0) -> dict[str, str]:
    """Check every op a YAML config uses, with the params the config gives it.

    The config must be valid (:func:`shouxie.engine.config.validate`: each step's ops exist...);
    each step's op (every op of a ``compare:`` step) must accept the step's params, and so must
    the ops ``alike[op]`` (e.g. :func:`compare_groups` of the benchmark configs: a reference and
    the op compared with it take the same params). With ``execute`` the steps then run in order
    at the cheapest point (the smallest value of each sweep axis, the first row of ``zip:``),
    each op through :func:`check_call`; an op raising ``ImportError`` (a reference library that
    is not installed) is skipped. Returns ``{op: "ok" | "bound" | "skipped: why"}``.
    """
    config, registry = _validated(path, registry)
    report: dict[str, str] = {}
    variables = {var: _cheapest(values) for var, values in config.sweep.items()}
    variables.update({var: values[0] for var, values in config.zip.items()})
    alike = alike or {}
    outputs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        variables.update(seed=config.seed, run_dir=str(run_dir or scratch))
        for step in config.steps:
            names = list(step.ops)
            names += [other for name in names for other in alike.get(name, ()) if other not in names]
            where = f"{path}: step {step.name!r}"
            missing = [name for name in names if name not in registry]
            if missing:
                raise ConformanceError(f"{where}: {registry.missing_message(missing[0])}")
            for name in names:
                check_binds(registry.get(name), step.params)
                report.setdefault(name, "bound")
            if not execute:
                continue
            try:
                params = resolve(step.params, variables, outputs)
            except StepFailed as exc:
                report.update({n: f"skipped: {exc}" for n in names if report[n] == "bound"})
                continue
            for name in names:
                try:
                    result = check_call(registry.get(name), params, seed=config.seed, rtol=rtol, atol=atol)
                except ImportError as exc:
                    report[name] = f"skipped: {exc}"
                    continue
                except ConformanceError as exc:
                    raise ConformanceError(f"{where}: {exc}") from None
                except Exception as exc:
                    raise ConformanceError(f"{where}: op {name!r} raised {type(exc).__name__}: {exc}") from exc
                report[name] = "ok"
                outputs.setdefault(step.name, result)
    return report
