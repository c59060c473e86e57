"""shouxie.plugins: hook specifications, the plugin manager and the built-in plugins."""
from .hookspecs import hookimpl, hookspec
from .manager import (BUILTIN_PLUGINS, PluginLoadError, PluginLoadWarning, PluginManager, collect_ops,
                      get_plugin_manager)
from .registry import DuplicateOpError, Op, OpRegistry, Registrar

__all__ = [
    "BUILTIN_PLUGINS",
    "DuplicateOpError",
    "Op",
    "OpRegistry",
    "PluginLoadError",
    "PluginLoadWarning",
    "PluginManager",
    "Registrar",
    "collect_ops",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
]
