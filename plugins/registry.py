"""The op registry: every op a run can name, with the plugin that provided it."""
from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

OP_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class DuplicateOpError(ValueError):
    """Two plugins registered the same op name."""


@dataclass(frozen=True)
class Op:
    """A registered op: a plain callable taking keyword arguments."""

    name: str
    func: Callable[..., Any]
    plugin: str
    summary: str
    signature: inspect.Signature = field(repr=False)

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.func) or ""

    def __call__(self, **params: Any) -> Any:
        return self.func(**params)


class OpRegistry:
    """Ops by name. Filled by the ``shouxie_register_ops`` hook of every plugin."""

    def __init__(self) -> None:
        self._ops: dict[str, Op] = {}
        #: Third-party plugins that failed to load (``PluginFailure``): why an op may be missing.
        self.failures: tuple[Any, ...] = ()

    def add(self, name: str, func: Callable[..., Any], *, plugin: str, summary: str | None = None) -> Op:
        """Register ``func`` as op ``name`` (``family.op``, lowercase, dotted)."""
        if not isinstance(name, str) or not OP_NAME.match(name):
            raise ValueError(f"op name {name!r} from plugin {plugin!r} must look like 'family.op' "
                             "(lowercase letters, digits, underscores, dot-separated)")
        if not callable(func):
            raise TypeError(f"op {name!r} from plugin {plugin!r} is not callable")
        self._check_free(name, plugin)
        doc = inspect.getdoc(func) or ""
        if summary is None:
            summary = doc.strip().splitlines()[0] if doc.strip() else ""
        op = Op(name, func, plugin, summary, inspect.signature(func))
        self._ops[name] = op
        return op

    def update(self, other: OpRegistry) -> None:
        """Add every op of ``other``, or none of them if one of their names is already taken."""
        for op in other:
            self._check_free(op.name, op.plugin)
        self._ops.update(other._ops)

    def _check_free(self, name: str, plugin: str) -> None:
        if name in self._ops:
            raise DuplicateOpError(f"op {name!r} is registered by both plugin "
                                   f"{self._ops[name].plugin!r} and plugin {plugin!r}")

    def get(self, name: str) -> Op:
        """The op called ``name``; ``KeyError`` with a did-you-mean when there is none."""
        try:
            return self._ops[name]
        except KeyError:
            raise KeyError(self.missing_message(name)) from None

    def missing_message(self, name: str) -> str:
        """Why there is no op ``name``: a did-you-mean, and the plugins that failed to load."""
        close = difflib.get_close_matches(str(name), list(self._ops), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"unknown op {name!r}{hint}"
        if self.failures:
            family = str(name).split(".")[0]
            culprits = [f for f in self.failures
                        if family in (f.plugin, f.distribution and f.distribution.name)]
            failed = "; ".join(str(f) for f in culprits or self.failures)
            message += f"; it is probably missing because {failed}" if culprits else f"; note: {failed}"
        return message

    def __contains__(self, name: object) -> bool:
        return name in self._ops

    def __iter__(self) -> Iterator[Op]:
        return iter(sorted(self._ops.values(), key=lambda op: op.name))

    def __len__(self) -> int:
        return len(self._ops)


@dataclass(frozen=True)
class Registrar:
    """What a plugin's ``shouxie_register_ops`` receives: adds ops in that plugin's name."""

    registry: OpRegistry
    plugin: str

    def add(self, name: str, func: Callable[..., Any], *, summary: str | None = None) -> Op:
        """Register ``func`` as op ``name``; ``summary`` defaults to its docstring's first line."""
        return self.registry.add(name, func, plugin=self.plugin, summary=summary)
