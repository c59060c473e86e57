"""Command-line changes to a loaded config: ``-s key.path=value`` and ``--sweep var=a,b,c``.

Each records the key path it set in ``Source.overrides``, so an error there names the option.
"""
from __future__ import annotations

from typing import Any

from .source import ConfigError, Source, did_you_mean, format_path, parse_source


def _split_assignment(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{option} expects KEY=VALUE, got {text!r}", source="command line")
    return key.strip(), value


def _yaml_value(text: str, option: str) -> Any:
    """A value given on the command line, read like a config (safe loader, same limits)."""
    try:
        return parse_source(text, f"command line ({option})").data if text.strip() else ""
    except ConfigError as exc:
        raise ConfigError(f"invalid {option} value: {exc.message.removeprefix('invalid YAML: ')}",
                          source="command line") from None


def apply_override(src: Source, assignment: str) -> None:
    """``-s a.b.c=value``: set a key path (steps addressed by name or index); the value is YAML."""
    key, raw = _split_assignment(assignment, "-s")
    value = _yaml_value(raw, f"-s {assignment}")
    if not isinstance(src.data, dict):
        raise ConfigError("cannot apply -s to a config that is not a mapping", source=src.name)
    node: Any = src.data
    path: list[str | int] = []
    parts = key.split(".")
    for i, name in enumerate(parts):
        part: str | int = name
        if isinstance(node, list):
            names = [s.get("name") if isinstance(s, dict) else None for s in node]
            if name in names:
                part = names.index(name)
            elif name.isdigit() and int(name) < len(node):
                part = int(name)
            else:
                hint = did_you_mean(name, [n for n in names if isinstance(n, str)])
                raise ConfigError(f"-s {assignment}: no step {name!r}{hint}", source="command line",
                                  path=path)
        elif not isinstance(node, dict):
            raise ConfigError(f"-s {assignment}: {format_path(path)} is not a mapping", source="command line")
        path.append(part)
        if i == len(parts) - 1:
            node[part] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
    src.overrides[tuple(path)] = f"-s {assignment}"


def apply_sweep(src: Source, assignment: str) -> None:
    """``--sweep n=1,2,3``: replace (or add) one sweep axis; each value is YAML (3 stays int)."""
    key, raw = _split_assignment(assignment, "--sweep")
    if not isinstance(src.data, dict):
        raise ConfigError("cannot apply --sweep to a config that is not a mapping", source=src.name)
    sweep = src.data.get("sweep")
    if not isinstance(sweep, dict):
        sweep = src.data["sweep"] = {}
    sweep[key] = [_yaml_value(v, f"--sweep {assignment}") for v in raw.split(",") if v.strip()]
    src.overrides[("sweep", key)] = f"--sweep {assignment}"
