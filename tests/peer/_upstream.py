"""Load a reference project's own test module from its installed package, with names swapped.

scikit-learn and scipy ship their test suites inside the installed package. The module is
executed from that file (nothing is copied into this repository), under a private name inside
the package so that its relative imports resolve, and the names listed in ``replace`` are then
rebound in its namespace: the upstream test functions look their callees up there, so they call
the adapters while every assertion stays the upstream one, unchanged. A function that the
upstream module passes as a ``parametrize`` value (``@pytest.mark.parametrize("metric",
[roc_curve, ...])``) is swapped for its adapter there too.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ParameterSet = type(pytest.param(None))


def load_installed_tests(package: str, filename: str, replace: dict) -> ModuleType:
    """Execute ``<package>/<filename>`` privately and rebind ``replace``'s names in it.

    Parameters
    ----------
    package : str
        The installed test package, e.g. ``"sklearn.metrics.tests"``.
    filename : str
        The test module in it, e.g. ``"test_ranking.py"``.
    replace : dict
        Module-level name -> object (adapter) to put in its place.
    """
    spec = importlib.util.find_spec(package)
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise FileNotFoundError(f"{package} ships no {filename} (is the package installed without tests?)")
    name = f"{package}._shouxie_peer_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    missing = [key for key in replace if not hasattr(module, key)]
    if missing:
        raise AttributeError(f"{path} has no {missing}: the upstream module changed, update the adapters")
    swaps = [(getattr(module, key), value) for key, value in replace.items()]
    for key, value in replace.items():
        setattr(module, key, value)
    for obj in _test_functions(module):
        marks = getattr(obj, "pytestmark", None)
        if marks:
            obj.pytestmark = [_swap_mark(mark, swaps) for mark in marks]
    return module


def _test_functions(module: ModuleType):
    for name, obj in vars(module).items():
        if name.startswith("test") and callable(obj):
            yield obj
        elif name.startswith("Test") and isinstance(obj, type):
            yield from (m for k, m in vars(obj).items() if k.startswith("test") and callable(m))


def _swap(value, swaps):
    if isinstance(value, ParameterSet):
        return pytest.param(*(_swap(v, swaps) for v in value.values), marks=value.marks, id=value.id)
    if isinstance(value, (tuple, list)):
        return type(value)(_swap(v, swaps) for v in value)
    return next((new for old, new in swaps if value is old), value)


def _swap_mark(mark, swaps):
    if mark.name != "parametrize" or len(mark.args) < 2:
        return mark
    names, values, *rest = mark.args
    return pytest.mark.parametrize(names, [_swap(v, swaps) for v in values], *rest, **mark.kwargs).mark


def pick(module: ModuleType, names) -> dict:
    """The upstream tests named in ``names`` (functions, or classes restricted to some methods).

    ``names`` holds ``"test_function"`` or ``"TestClass::test_method"`` entries. A class comes
    back as a new class of the same name holding every non-test attribute of the upstream class
    (helpers, marks) and only the listed test methods.
    """
    out, methods = {}, {}
    for entry in names:
        owner, _, method = entry.partition("::")
        if method:
            methods.setdefault(owner, []).append(method)
        else:
            out[owner] = getattr(module, owner)
    for owner, wanted in methods.items():
        cls = getattr(module, owner)
        attrs = {}
        for klass in reversed(cls.__mro__[:-1]):
            attrs.update({k: v for k, v in vars(klass).items() if not k.startswith(("test", "__"))})
        attrs.update({m: getattr(cls, m) for m in wanted})
        out[owner] = type(owner, (), attrs)
    return out
