"""The plugin manager: built-in plugins, then third-party ones from entry points."""
from __future__ import annotations

import importlib
import os

import pluggy

from . import hookspecs
from .registry import OpRegistry, Registrar

ENTRY_POINT_GROUP = "shouxie"
DISABLE_AUTOLOAD_ENV = "SHOUXIE_DISABLE_PLUGIN_AUTOLOAD"

#: One module per algorithm family, then the observers that consume records.
BUILTIN_PLUGINS = (
    "shouxie.plugins.detection",
    "shouxie.plugins.cluster",
    "shouxie.plugins.neighbors",
    "shouxie.plugins.rundir",
    "shouxie.plugins.terminal",
)


def get_plugin_manager(load_entrypoints: bool = True) -> pluggy.PluginManager:
    """A fresh plugin manager with the built-in plugins and, unless disabled, third-party ones.

    Third-party plugins are the entry points of group ``shouxie``; setting the environment
    variable ``SHOUXIE_DISABLE_PLUGIN_AUTOLOAD=1`` skips them.
    """
    pm = pluggy.PluginManager("shouxie")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entrypoints and os.environ.get(DISABLE_AUTOLOAD_ENV, "") in ("", "0"):
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


def load_plugins(pm: pluggy.PluginManager, names) -> None:
    """Register plugins named explicitly (a config's ``plugins:`` list, ``-p NAME``).

    A name is an entry point of group ``shouxie`` or else an importable module path. Loading is
    idempotent: a plugin already registered under that name is left alone.
    """
    from importlib.metadata import entry_points

    for name in names:
        if pm.has_plugin(name):
            continue
        eps = entry_points(group=ENTRY_POINT_GROUP, name=name)
        if eps:
            ep = next(iter(eps))
            if pm.is_registered(plugin := ep.load()):
                continue
            pm.register(plugin, name=ep.name)
        else:
            pm.register(importlib.import_module(name), name=name)
    pm.check_pending()


def collect_ops(pm: pluggy.PluginManager) -> OpRegistry:
    """Ask every plugin for its ops; each op remembers the plugin that added it."""
    registry = OpRegistry()
    for impl in pm.hook.shouxie_register_ops.get_hookimpls():
        impl.function(registry=Registrar(registry, impl.plugin_name))
    return registry
