"""docs/hooks.md is checked against plugins/hookspecs.py, and every hook is called by a test."""
import argparse
import ast
import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from shouxie.plugins import OpRegistry, Registrar, hookimpl, hookspecs
from shouxie.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parent.parent
HOOKS = {name: getattr(hookspecs, name) for name in dir(hookspecs) if name.startswith("shouxie_")}
HEADING = re.compile(r"^### `(shouxie_\w+)\((.*)\)`$", re.M)


def documented_hooks():
    """{hook: (parameters as written, its section's text)} from docs/hooks.md."""
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    sections = {}
    for m, following in zip(matches, matches[1:] + [None]):
        body = text[m.end(): following.start() if following else len(text)]
        sections[m.group(1)] = (m.group(2), body.split("\n## ")[0])
    return sections


def called_hooks():
    """Hooks some test calls as ``<manager>.hook.<name>(...)``."""
    called = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "hook"):
                called.add(node.func.attr)
    return called


def test_hookspecs_are_found():
    assert {"shouxie_register_ops", "shouxie_register_commands", "shouxie_run_started",
            "shouxie_record", "shouxie_run_finished"} <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_is_documented_with_its_signature_and_docstring(name):
    docs = documented_hooks()
    assert name in docs, f"docs/hooks.md has no section '### `{name}(...)`'"
    written, body = docs[name]
    assert written == ", ".join(inspect.signature(HOOKS[name]).parameters), f"{name}: signature differs"
    first_line = " ".join(inspect.getdoc(HOOKS[name]).splitlines()[0].split())
    assert first_line in " ".join(body.split()), f"{name}: docs/hooks.md does not quote its docstring"


def test_docs_describe_no_hook_that_does_not_exist():
    assert set(documented_hooks()) <= set(HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_every_hook_has_a_test_that_calls_it(name):
    assert name in called_hooks(), f"no test calls pm.hook.{name}(...)"


def test_check_finds_hook_calls():
    assert "shouxie_record" in called_hooks() and "shouxie_nonexistent" not in called_hooks()


# --------------------------------------------------------------------------- direct calls
def test_register_ops_hook_adds_every_builtin_op(pm):
    registry = OpRegistry()
    pm.hook.shouxie_register_ops(registry=Registrar(registry, "all"))
    assert "detection.box_iou" in registry and "data.random_boxes" in registry


def test_register_commands_hook_adds_the_plugins_command(pm):
    parser = argparse.ArgumentParser(prog="shouxie")
    sub = parser.add_subparsers(dest="command")
    pm.hook.shouxie_register_commands(subparsers=sub)
    args = parser.parse_args(["plugins", "--json"])
    assert args.json and callable(args.func)


def test_observer_hooks_reach_an_implementation_in_order(tmp_path):
    seen = []

    class Recorder:
        @hookimpl
        def shouxie_run_started(self, run):
            seen.append(("started", run.name))

        @hookimpl
        def shouxie_record(self, record):  # an implementation may take a subset of the arguments
            seen.append(("record", record["step"]))

        @hookimpl
        def shouxie_run_finished(self, run, summary):
            seen.append(("finished", summary["records"]))

    pm = PluginManager()
    pm.register(Recorder())
    run = SimpleNamespace(name="demo", dir=tmp_path, records=[])
    pm.hook.shouxie_run_started(run=run)
    for step in ("a", "b"):
        pm.hook.shouxie_record(record={"step": step}, run=run)
    pm.hook.shouxie_run_finished(run=run, summary={"records": 2})
    assert seen == [("started", "demo"), ("record", "a"), ("record", "b"), ("finished", 2)]
