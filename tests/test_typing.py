"""The package is typed (PEP 561): its markers are installed and a type checker sees the wrappers'
annotations."""
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.mark.parametrize("package", ["shouxie.core", "shouxie.engine", "shouxie.plugins"])
def test_every_package_has_the_py_typed_marker(package):
    # shouxie itself is a namespace package: PEP 561 wants the marker in each package under it
    marker = Path(importlib.import_module(package).__file__).parent / "py.typed"
    assert marker.is_file(), f"{marker} is missing: type checkers would take {package} as untyped"


def test_mypy_checks_calls_against_the_public_annotations(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "snippet.py").write_text(textwrap.dedent("""\
        import shouxie.core

        reveal_type(shouxie.core.box_iou([[0, 0, 1, 1]], [[0, 0, 2, 2]]))
        shouxie.core.nms([[0, 0, 1, 1]], [0.5], iou_threshold="high")
    """))
    # from tmp_path, so neither this checkout's sources nor its [tool.mypy] are in the way
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "snippet.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert 'Revealed type is "numpy.ndarray[' in out and "floating" in out, out
    assert 'Argument "iou_threshold" to "nms" has incompatible type "str"; expected "float"' in out, out
    assert "Found 1 error in 1 file" in out, out
