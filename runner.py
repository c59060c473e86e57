"""shouxie.runner: run an experiment described in YAML.

The runner only orchestrates: load -> validate -> plan -> execute -> emit records, with the
engine (:mod:`shouxie.engine`) doing each step. Ops come from the plugin manager's registry;
whatever consumes records (the run directory writer, the SQLite index, the progress bar, the
summaries and plots, third-party sinks) is an observer plugin called through the
``shouxie_run_started``, ``shouxie_record`` and ``shouxie_run_finished`` hooks.

Usage: ``shouxie run CONFIG.yaml [options]``, ``shouxie ops``, or ``python runner.py CONFIG.yaml``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shouxie.engine.compare import agreement, difference
from shouxie.engine.config import BUILTIN_VARIABLES, MAX_NAME, MAX_POINTS, Config, Step, config_plugins, validate
from shouxie.engine.executors import EXECUTORS as EXECUTOR_TABLE
from shouxie.engine.executors import Executor
from shouxie.engine.overrides import apply_override, apply_sweep
from shouxie.engine.params import StepFailed, resolve
from shouxie.engine.plan import Point, plan
from shouxie.engine.point import Job, PointTask, describe, metrics_of, run_point
from shouxie.engine.records import FINISHED, Record, Status, load_records
from shouxie.engine import run as engine_run
from shouxie.engine.run import (EXIT_FAILED_RECORDS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Observers, Run,
                                new_run, resume_run)
from shouxie.engine.rundir import CONFIG, RunDir, UnsafeRunDir
from shouxie.engine.source import MAX_DEPTH, MAX_NODES, ConfigError, Source, load_source, parse_source
from shouxie.engine.timing import time_ops, timing_summary
from shouxie.plugins import collect_ops, get_plugin_manager
from shouxie.plugins.manager import PluginManager, load_plugins, registry_for
from shouxie.plugins.registry import OpRegistry

EXECUTORS = tuple(EXECUTOR_TABLE)
#: Record statuses; ``ok`` and ``mismatch`` records are finished (a resume keeps them).
STATUSES = tuple(s.value for s in Status)

__all__ = [
    "BUILTIN_VARIABLES", "EXECUTORS", "EXIT_FAILED_RECORDS", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
    "FINISHED", "MAX_DEPTH", "MAX_NAME", "MAX_NODES", "MAX_POINTS", "STATUSES", "Config", "ConfigError",
    "Executor", "Job", "Point", "PointTask", "Record", "Run", "RunDir", "Source", "Status", "Step",
    "StepFailed", "UnsafeRunDir", "agreement", "apply_override", "apply_sweep", "build_parser",
    "config_plugins", "describe", "difference", "dry_run_listing", "execute", "exit_code",
    "load_records", "load_source", "load_with_plugins", "main", "metrics_of", "new_run", "parse_source",
    "plan", "prepare", "resolve", "resume_run", "run_config", "run_point", "time_ops", "timing_summary",
    "validate",
]


# --------------------------------------------------------------------------- library entry point
def execute(config: Config, registry: OpRegistry, pm: Observers, **options: Any) -> Run:
    """:func:`shouxie.engine.run.execute`, whose workers build their registries with the plugin
    manager (``load_registry=registry_for``) unless told otherwise."""
    options.setdefault("load_registry", registry_for)
    return engine_run.execute(config, registry, pm, **options)


def prepare(path: str | Path, pm: PluginManager, *, overrides: Sequence[str] = (),
            sweeps: Sequence[str] = (), plugins: Sequence[str] = ()) -> tuple[Config, OpRegistry]:
    """Load a config, apply command-line overrides, load its plugins and validate it."""
    src, registry = load_with_plugins(path, pm, overrides=overrides, sweeps=sweeps, plugins=plugins)
    return validate(src, registry), registry


def load_with_plugins(path: str | Path, pm: PluginManager, *, overrides: Sequence[str] = (),
                      sweeps: Sequence[str] = (), plugins: Sequence[str] = ()) -> tuple[Source, OpRegistry]:
    """:func:`prepare` up to validation: the config's source, overridden, and the registry of ops
    once its plugins (and ``plugins``) are loaded; a plugin that fails to load is a
    :class:`ConfigError` at its place in the config."""
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
    return src, collect_ops(pm)


def run_config(path: str | Path, *, out: str | Path = "runs", pm: PluginManager | None = None,
               overrides: Sequence[str] = (), sweeps: Sequence[str] = (), plugins: Sequence[str] = (),
               fail_fast: bool = False, quiet: bool = False, resume: str | Path | None = None) -> Run:
    """Load, validate and execute the config at ``path``; the library entry point of ``shouxie run``.

    With ``resume`` (a run directory), ``path`` is that run's saved ``config.yaml`` and the run is
    completed in place.
    """
    pm = pm or get_plugin_manager()
    config, registry = prepare(path, pm, overrides=overrides, sweeps=sweeps, plugins=plugins)
    options = {"quiet": quiet, "plugins": tuple(plugins)}
    run = resume_run(resume, config, options=options) if resume is not None else None
    try:
        return execute(config, registry, pm, out=out, source=str(path), run=run, fail_fast=fail_fast,
                       options=options)
    except UnsafeRunDir as exc:
        raise ConfigError(str(exc), path=("name",), source=str(path)) from None


# --------------------------------------------------------------------------- command line
def exit_code(run: Run) -> int:
    return run.exit_code()


def _cmd_run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.config is not None or args.set or args.sweep:
            raise ConfigError("--resume RUN_DIR takes no CONFIG, -s or --sweep: the run's saved "
                              "config.yaml is what it resumes", source="command line")
        args.config = RunDir(Path(args.resume)).file(CONFIG)
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


def build_parser(pm: PluginManager) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shouxie", description=(__doc__ or "").splitlines()[0])
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
        return int(args.func(args))
    except ConfigError as exc:
        print(f"shouxie: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shouxie: interrupted; finished records are saved (shouxie run --resume RUN_DIR "
              "completes the run)", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # argparse usage errors
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
