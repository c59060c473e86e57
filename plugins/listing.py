"""Built-in plugin: the ``shouxie plugins`` command, listing every plugin and what it provides."""
from __future__ import annotations

import json
from importlib import metadata

from shouxie.core import cpu_info

from .hookspecs import hookimpl
from .manager import BUILTIN_PLUGINS, Distribution, PluginManager, collect_ops
from .terminal import format_table


def _shouxie() -> Distribution | None:
    try:
        return Distribution.of(metadata.distribution("shouxie"))
    except metadata.PackageNotFoundError:
        return None


def describe_plugins(pm: PluginManager) -> list[dict]:
    """Every plugin, loaded (in registration order) then failed: its name, status, distribution,
    version, the ops it registers, the hooks it implements, and for a failed one the error."""
    ops: dict[str, list[str]] = {}
    for op in collect_ops(pm):  # first: a plugin whose ops fail to register is dropped here
        ops.setdefault(op.plugin, []).append(op.name)
    rows = []
    for name, plugin in pm.list_name_plugin():
        dist = pm.distributions.get(name) or (_shouxie() if name in BUILTIN_PLUGINS else None)
        rows.append({
            "name": name, "status": "loaded",
            "distribution": dist.name if dist else None, "version": dist.version if dist else None,
            "ops": ops.get(name, []),
            "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
            "error": None,
        })
    for failure in pm.failures.values():
        dist = failure.distribution
        rows.append({
            "name": failure.plugin, "status": "failed",
            "distribution": dist.name if dist else None, "version": dist.version if dist else None,
            "ops": [], "hooks": [], "error": f"failed to {failure.stage}: {failure.error}",
        })
    return rows


def plugins_table(rows: list[dict]) -> str:
    """The table ``shouxie plugins`` prints: one row per plugin, its ops (or its error) last."""
    header = ("plugin", "distribution", "hooks", "ops / error")
    body = []
    for row in rows:
        dist = f"{row['distribution']} {row['version']}" if row["distribution"] else "-"
        hooks = ", ".join(h.removeprefix("shouxie_") for h in row["hooks"]) or "-"
        ops = f"{len(row['ops'])}: {', '.join(row['ops'])}" if row["ops"] else "-"
        body.append((row["name"], dist, hooks, row["error"] or ops))
    return format_table(header, body)


def kernels_line(info: dict) -> str:
    """The compiled kernel variants in use (``shouxie.core.cpu_info()``), on one line."""
    variants = ", ".join(f"{family.lstrip('_')} {f['variant']}" for family, f in info["families"].items())
    why = f"forced by SHOUXIE_CPU={info['forced']}" if info["forced"] else f"best for this CPU: {info['level']}"
    return f"kernels: {variants} ({why})"


def _cmd_plugins(args) -> int:
    rows = describe_plugins(args.pm)
    print(json.dumps(rows, indent=2) if args.json else plugins_table(rows) + "\n" + kernels_line(cpu_info()))
    return 0


@hookimpl
def shouxie_register_commands(subparsers):
    cmd = subparsers.add_parser("plugins", help="list every plugin: distribution, ops, hooks")
    cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmd.set_defaults(func=_cmd_plugins)
