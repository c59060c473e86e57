"""The plugin manager: built-in plugins, then third-party ones from entry points.

A third-party plugin that cannot be imported or registered does not take the others down: it is
reported with a :class:`PluginLoadWarning` naming its distribution and the error, remembered in
``pm.failures``, and an op it would have provided is reported as missing *because* it failed.
"""
from __future__ import annotations

import difflib
import importlib
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata

import pluggy

from . import hookspecs
from .registry import OpRegistry, Registrar

ENTRY_POINT_GROUP = "shouxie"
DISABLE_AUTOLOAD_ENV = "SHOUXIE_DISABLE_PLUGIN_AUTOLOAD"

#: One module per algorithm family, then the observers that consume records, then commands.
BUILTIN_PLUGINS = (
    "shouxie.plugins.detection",
    "shouxie.plugins.metrics",
    "shouxie.plugins.linear",
    "shouxie.plugins.arch",
    "shouxie.plugins.cluster",
    "shouxie.plugins.neighbors",
    "shouxie.plugins.coding",
    "shouxie.plugins.nn",
    "shouxie.plugins.image",
    "shouxie.plugins.rundir",
    "shouxie.plugins.index",
    "shouxie.plugins.summary",
    "shouxie.plugins.plots",
    "shouxie.plugins.terminal",
    "shouxie.plugins.listing",
)


class PluginLoadWarning(UserWarning):
    """A third-party plugin failed to import or register; the other plugins still loaded."""


class PluginLoadError(ImportError):
    """A plugin could not be imported or registered; ``failure`` says which, from where and why."""

    def __init__(self, message: str, failure: PluginFailure | None = None) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class Distribution:
    """The installed package a plugin comes from."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    @classmethod
    def of(cls, dist: metadata.Distribution) -> Distribution:
        return cls(dist.metadata["Name"] or "?", dist.version or "?")


@dataclass(frozen=True)
class PluginFailure:
    """A third-party plugin that did not load: where it comes from, what it was doing, the error."""

    plugin: str
    distribution: Distribution | None
    stage: str  # "import", "register" or "register its ops"
    error: str

    def __str__(self) -> str:
        source = f" from distribution {self.distribution}" if self.distribution else ""
        return f"plugin {self.plugin!r}{source} failed to {self.stage}: {self.error}"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for project ``shouxie`` that remembers where plugins came from.

    ``distributions`` maps the name of each plugin loaded from an entry point to its
    :class:`Distribution`; ``failures`` maps the name of each plugin that failed to its
    :class:`PluginFailure`.
    """

    def __init__(self) -> None:
        super().__init__("shouxie")
        self.add_hookspecs(hookspecs)
        self.distributions: dict[str, Distribution] = {}
        self.failures: dict[str, PluginFailure] = {}

    def fail(self, failure: PluginFailure, stacklevel: int = 2) -> None:
        """Record ``failure``, drop whatever the plugin had registered, and warn.

        ``stacklevel`` picks the frame the warning points at: 1 is the function calling ``fail``.
        """
        self.failures[failure.plugin] = failure
        self.distributions.pop(failure.plugin, None)
        if self.has_plugin(failure.plugin):
            self.unregister(name=failure.plugin)
        warnings.warn(f"shouxie: {failure}; the other plugins are loaded", PluginLoadWarning,
                      stacklevel=stacklevel + 1)


def get_plugin_manager(load_entrypoints: bool = True) -> PluginManager:
    """A fresh plugin manager with the built-in plugins and, unless disabled, third-party ones.

    Third-party plugins are the entry points of group ``shouxie``; setting the environment
    variable ``SHOUXIE_DISABLE_PLUGIN_AUTOLOAD=1`` skips them. One that fails to load gives a
    :class:`PluginLoadWarning` and is left out.
    """
    pm = PluginManager()
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entrypoints and os.environ.get(DISABLE_AUTOLOAD_ENV, "") in ("", "0"):
        load_entrypoint_plugins(pm)
    pm.check_pending()
    return pm


def _entry_points(name: str | None = None) -> Iterator[tuple[metadata.EntryPoint, metadata.Distribution]]:
    """``(entry point, distribution)`` of group ``shouxie``, first on ``sys.path`` first."""
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and (name is None or ep.name == name):
                yield ep, dist


def load_entrypoint_plugins(pm: PluginManager) -> int:
    """Load every entry point of group ``shouxie``; return how many loaded.

    One that fails to import or register is recorded in ``pm.failures`` with a warning.
    """
    count = 0
    for ep, dist in _entry_points():
        if pm.has_plugin(ep.name) or pm.is_blocked(ep.name) or ep.name in pm.failures:
            continue
        try:
            _load_entry_point(pm, ep, dist)
        except PluginLoadError as exc:
            assert exc.failure is not None   # _load_entry_point always says which and why
            pm.fail(exc.failure, stacklevel=3)  # warn where get_plugin_manager() was called
        else:
            count += 1
    return count


def _load_entry_point(pm: PluginManager, ep: metadata.EntryPoint, dist: metadata.Distribution) -> None:
    source = Distribution.of(dist)
    stage = "import"
    try:
        plugin = ep.load()
        if pm.is_registered(plugin):
            return
        stage = "register"
        register_checked(pm, plugin, ep.name)
    except Exception as exc:
        failure = PluginFailure(ep.name, source, stage, f"{type(exc).__name__}: {exc}")
        raise PluginLoadError(str(failure), failure) from exc
    pm.distributions[ep.name] = source


def register_checked(pm: PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin``; reject (and unregister) it if it implements a hook that does not exist.

    pluggy only finds a misspelled hook in ``check_pending()``, which would fail for every
    plugin at once; checking each plugin as it registers keeps the failure with its culprit.
    """
    pm.register(plugin, name=name)
    known = [n for n in dir(hookspecs) if n.startswith("shouxie_")]
    unknown = [caller.name for caller in pm.get_hookcallers(plugin) or () if not caller.has_spec()]
    if unknown:
        pm.unregister(plugin)
        hints = []
        for hook in unknown:
            close = difflib.get_close_matches(hook, known, n=1)
            hints.append(f"{hook!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise pluggy.PluginValidationError(plugin, f"unknown hook {', '.join(hints)}")


def load_plugins(pm: PluginManager, names: Iterable[str]) -> None:
    """Register plugins named explicitly (a config's ``plugins:`` list, ``-p NAME``).

    A name is an entry point of group ``shouxie`` or else an importable module path. Loading is
    idempotent: a plugin already registered under that name is left alone. A plugin that cannot
    be loaded raises :class:`PluginLoadError` naming its distribution and the error.
    """
    for name in names:
        if pm.has_plugin(name):
            continue
        found = next(_entry_points(name), None)
        if found is not None:
            _load_entry_point(pm, *found)
            pm.failures.pop(name, None)
            continue
        try:
            register_checked(pm, importlib.import_module(name), name)
        except Exception as exc:
            raise PluginLoadError(f"plugin {name!r} (no entry point of group {ENTRY_POINT_GROUP!r} "
                                  f"has that name, so it was taken as a module path) failed to load: "
                                  f"{type(exc).__name__}: {exc}") from exc
    pm.check_pending()


def registry_for(plugins: Sequence[str] = ()) -> OpRegistry:
    """The op registry of a fresh plugin manager with ``plugins`` loaded too: what a worker
    process of the ``process`` and ``dask`` executors builds for itself, once."""
    pm = get_plugin_manager()
    load_plugins(pm, plugins)
    return collect_ops(pm)


def collect_ops(pm: PluginManager) -> OpRegistry:
    """Ask every plugin for its ops; each op remembers the plugin that added it.

    A plugin's ops are added all at once, after its hook returned. When a third-party plugin's
    ``shouxie_register_ops`` raises (a duplicate op name, a bad name, a bug), that plugin is
    dropped with a :class:`PluginLoadWarning` and the others' ops are kept; errors from built-in
    plugins and plugins registered in-process propagate.
    """
    registry = OpRegistry()
    for impl in pm.hook.shouxie_register_ops.get_hookimpls():
        staged = OpRegistry()
        try:
            impl.function(registry=Registrar(staged, impl.plugin_name))
            registry.update(staged)
        except Exception as exc:
            if impl.plugin_name not in pm.distributions:
                raise
            pm.fail(PluginFailure(impl.plugin_name, pm.distributions[impl.plugin_name],
                                  "register its ops", f"{type(exc).__name__}: {exc}"), stacklevel=2)
    registry.failures = tuple(pm.failures.values())
    return registry
