"""Every hook a shouxie plugin can implement.

A plugin is any module or object with functions marked ``@hookimpl`` and named after a hook
below. Built-in plugins live in :mod:`shouxie.plugins`; third-party ones are found through the
``shouxie`` entry-point group.
"""
from __future__ import annotations

import argparse

from pluggy import HookimplMarker, HookspecMarker

from shouxie.engine.records import Record
from shouxie.engine.run import Run, Summary

from .registry import Registrar

hookspec = HookspecMarker("shouxie")
hookimpl = HookimplMarker("shouxie")


@hookspec
def shouxie_register_ops(registry: Registrar) -> None:
    """Add this plugin's ops with ``registry.add(name, func, summary=...)``."""


@hookspec
def shouxie_register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add command-line subcommands to ``shouxie``; set ``func=handler(args) -> int`` as a default."""


@hookspec
def shouxie_run_started(run: Run) -> None:
    """Called once when a run starts, after its directory exists and before any step runs."""


@hookspec
def shouxie_record(record: Record, run: Run) -> None:
    """Called with each result record, in order, as soon as it is produced."""


@hookspec
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    """Called once when a run ends, with counts of records by status and the wall time."""
