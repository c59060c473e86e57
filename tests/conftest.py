import textwrap

import pytest

from shouxie.plugins import get_plugin_manager


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
