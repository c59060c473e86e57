"""Optional libraries (the references ops are compared with), imported only when an op runs."""
from __future__ import annotations

import importlib
from types import ModuleType

#: How to install the torch the ``ref.torch*`` references are tested with (CI installs this one).
TORCH_INSTALL = "pip install torch==2.13.0"
#: The same torch with its matching torchvision, for the ``ref.torchvision_*`` references.
TORCHVISION_INSTALL = f"{TORCH_INSTALL} torchvision==0.28.0"


def require(module: str, *, needed_by: str, install: str) -> ModuleType:
    """Import ``module``; when it is missing, an ``ImportError`` says what needs it and how to install it."""
    package = module.partition(".")[0]
    try:
        importlib.import_module(package)  # a cached submodule must not hide a missing package
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{needed_by} needs {package}: {install}") from exc
