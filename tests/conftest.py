import importlib.util
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from shouxie.plugins import get_plugin_manager

# Hypothesis budgets: "ci" (the default) keeps the suite short; HYPOTHESIS_PROFILE=thorough for a
# long local fuzz (random), =quick for a smoke run. Tests that set max_examples themselves keep theirs. No deadline: timings on a
# loaded CI machine say nothing about correctness (pytest-timeout catches hangs).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)   # CI repeats itself
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.register_profile("quick", max_examples=15, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def pm():
    """A plugin manager with the built-in plugins only."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def write_config(tmp_path):
    """Write a YAML config (dedented) into tmp_path and return its path."""
    def write(text, name="config.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write


@pytest.fixture(scope="session")
def load_tool():
    """Import a script from tools/ by name (``load_tool("median_networks")``); skip when the tests
    run without the tools folder beside them."""
    def load(name):
        path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
        if not path.is_file():
            pytest.skip(f"tools/{name}.py is not beside the tests")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load
