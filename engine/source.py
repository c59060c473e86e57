"""Reading a YAML config: a safe loader with limits, the line of every key, and ConfigError.

Every error a config can cause is a :class:`ConfigError` that says where (``file:line`` or the
command-line option, and the key path) and what was expected.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: A config expands to at most this many YAML nodes (keys, values, list items), aliases counted at
#: every use: a "billion laughs" alias bomb is refused before anything is built from it.
MAX_NODES = 100_000
#: and nests at most this deep.
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]


class ConfigError(Exception):
    """An invalid experiment config; says where (file:line, key path) and what was expected."""

    def __init__(self, message: str, *, path: Sequence[str | int] = (), source: str | None = None,
                 line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.source, self.line = message, tuple(path), source, line

    def __str__(self) -> str:
        where = self.source or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = format_path(self.path)
        return f"{where}: {key + ': ' if key else ''}{self.message}"


def format_path(path: Sequence[str | int]) -> str:
    """``steps[0].params.n`` for ``("steps", 0, "params", "n")``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(word: object, choices: Iterable[str], shown: str = "{!r}") -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing; ``shown`` formats it."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {shown.format(close[0])}?)" if close else ""


@dataclass
class Source:
    """A loaded YAML document with the line of every key, for error messages.

    ``overrides`` maps the key paths set on the command line to the option that set them, so an
    error in an overridden value names that option instead of a file line.
    """

    data: Any
    name: str = "<config>"
    lines: dict[KeyPath, int] = field(default_factory=dict)
    overrides: dict[KeyPath, str] = field(default_factory=dict)

    def error(self, message: str, path: Sequence[str | int] = ()) -> ConfigError:
        """A :class:`ConfigError` at ``path``, located at the nearest key with a known origin."""
        key = tuple(path)
        for cut in range(len(key), -1, -1):
            if key[:cut] in self.overrides:
                return ConfigError(message, path=key, source=f"command line ({self.overrides[key[:cut]]})")
            if key[:cut] in self.lines:
                return ConfigError(message, path=key, source=self.name, line=self.lines[key[:cut]])
        return ConfigError(message, path=key, source=self.name)


# --------------------------------------------------------------------------- typed fields of a mapping
def reject_unknown(src: Source, mapping: dict[Any, Any], allowed: set[str], path: KeyPath) -> None:
    """Every key of ``mapping`` is one of ``allowed``; else an error with a did-you-mean."""
    for key in mapping:
        if key not in allowed:
            raise src.error(f"unknown key {key!r}{did_you_mean(key, sorted(allowed))}; expected one of "
                            f"{', '.join(sorted(allowed))}", path + (key,))


def int_field(src: Source, data: dict[str, Any], key: str, default: int | None, low: int,
              path: KeyPath = ()) -> Any:
    """``data[key]`` (or ``default``): an integer >= ``low``; ``None`` when both are absent."""
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise src.error(f"expected an integer >= {low}, got {value!r}", path + (key,))
    return value


def float_field(src: Source, data: dict[str, Any], key: str, default: float | None,
                path: KeyPath = ()) -> Any:
    """A number >= 0; strings such as ``1e-5`` (which YAML 1.1 reads as text) are accepted."""
    value: Any = data.get(key, default)
    if value is None and default is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise src.error(f"expected a finite number >= 0, got {value!r}", path + (key,))
    return number


# --------------------------------------------------------------------------- YAML
def _children(node: yaml.Node) -> list[yaml.Node]:
    """The key and value nodes of a mapping, the items of a sequence."""
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_size(node: yaml.Node, name: str) -> None:
    """Refuse a document that nests deeper than ``MAX_DEPTH`` or expands to over ``MAX_NODES``.

    Each distinct node is measured once (its expanded size and height, memoised), so the check
    is linear in the text even when aliases make the expansion exponential; an alias to a node
    that contains it is refused too.
    """
    measured: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def refuse(message: str, n: yaml.Node) -> ConfigError:
        return ConfigError(message, source=name, line=n.start_mark.line + 1)

    def measure(n: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise refuse(f"the config nests deeper than {MAX_DEPTH} levels", n)
        if id(n) in active:
            raise refuse("a YAML alias refers to a node that contains it", n)
        if id(n) not in measured:
            active.add(id(n))
            size, height = 1, 0
            for child in _children(n):
                child_size, child_height = measure(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    raise refuse(f"the config expands to more than {MAX_NODES:,} values (YAML aliases "
                                 "repeat what they name); refusing it", n)
            active.discard(id(n))
            measured[id(n)] = size, height
        if depth + measured[id(n)][1] > MAX_DEPTH:  # an alias can put a tall node deep down
            raise refuse(f"the config nests deeper than {MAX_DEPTH} levels", n)
        return measured[id(n)]

    measure(node, 0)


def _node_lines(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            out[sub] = key.start_mark.line + 1
            _node_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _node_lines(item, path + (i,), out)


def parse_source(text: str, name: str = "<config>") -> Source:
    """Parse YAML text with the safe loader, within ``MAX_NODES`` and ``MAX_DEPTH``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            check_size(node, name)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=name,
                          line=line) from None
    except RecursionError:  # the parser itself recurses per level of flow nesting
        raise ConfigError(f"the config nests deeper than {MAX_DEPTH} levels", source=name) from None
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _node_lines(node, (), lines)
    return Source(data, name, lines)


def load_source(path: str | Path) -> Source:
    """Read a YAML config safely; ``ConfigError`` when it cannot be read or parsed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read config: {reason}", source=str(path)) from None
    return parse_source(text, str(path))
