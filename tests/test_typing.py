"""The package is typed (PEP 561): its markers are installed."""
import importlib
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["shouxie.core", "shouxie.engine", "shouxie.plugins"])
def test_every_package_has_the_py_typed_marker(package):
    # shouxie itself is a namespace package: PEP 561 wants the marker in each package under it
    marker = Path(importlib.import_module(package).__file__).parent / "py.typed"
    assert marker.is_file(), f"{marker} is missing: type checkers would take {package} as untyped"

