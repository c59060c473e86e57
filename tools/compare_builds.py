"""Time a config's shouxie ops under two builds' compiled kernels, in one process, interleaved.

``python tools/compare_builds.py OTHER CONFIG.yaml [CONFIG.yaml ...] [--level LEVEL] [--rounds N]
[--processes N] [--first this|other] [--out DIR] [-s KEY=VALUE]``

OTHER is the ``shouxie/core`` folder of another install of the same sources, built with other
options (``-Ccmake.define.SHOUXIE_NATIVE=ON`` in another venv, say), by the same Cython and
numpy. Its compiled modules are loaded beside this install's, and every step that runs a shouxie
op (anything but ``ref.*`` and ``data.*``) runs it twice: as ``this.<op>``, with this install's
kernels, and as ``other.<op>``, with the other build's bound in their place for the call. Both go
through the same Python wrappers and the same rebinding, so they differ in the compiled code
only, and the runner's timing takes their samples in turns (the references are left out of
those steps, and the twin that goes first alternates between rounds: see ``twin_steps``). Each
config is then an ordinary run (``runs/`` unless ``--out``; the agreement check proves the two
builds' outputs equal) followed by a table of this / other per op over ``--rounds`` such runs,
which ``--processes`` spreads over fresh processes. ``--level`` runs another of the other build's
CPU levels (``baseline``, say); this install's own folder will then do as OTHER. This is the
comparison of the portable build with ``-march=native`` (BENCHMARKS.md) that separate processes,
on a machine whose speed drifts between them, cannot make.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.machinery
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shouxie import core, runner
from shouxie.engine.source import ConfigError
from shouxie.plugins import get_plugin_manager

PLUGIN = "compare_builds"
#: Ops that are not shouxie's kernels: the references and the data they run on.
NOT_TWINNED = ("ref.", "data.")
#: Compiled modules every other one uses, not kernels.
SHARED = ("_cyutility", "_cpu")
#: The twins of an op: with this install's kernels, with the other build's.
SIDES = ("this", "other")


def _compiled(module: types.ModuleType) -> bool:
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)


def _counterpart(folder: Path, name: str, variants: dict[str, Any], level: str | None) -> Path:
    """The other build's file of compiled module ``name`` (``_median_network``): its variant
    ``level``, by default the one it would dispatch to here (a native build's ``native``, else
    the variant this process runs)."""
    if name in variants["VARIANTS"]:
        if level is None:
            level = "native" if variants["NATIVE"] else core.cpu_info()["families"][name]["variant"]
        stem = f"{name}_{level}"
    else:
        stem = name
    found = sorted(folder.glob(f"{stem}.*.so"))
    if not found:
        raise FileNotFoundError(f"{folder} has no {stem}.*.so (another build of shouxie.core, "
                                "from the same sources?)")
    return found[0]


def _load(path: Path) -> types.ModuleType:
    """An extension module from ``path``, outside ``sys.modules`` (its init function, and so its
    name, from the file name: ``_median_network_native`` for ``_median_network_native.*.so``)."""
    name = f"{core.__name__}.{path.name.split('.')[0]}"
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Builds:
    """This install's compiled kernels and another build's, and the rebinding between them.

    Each of shouxie's Python modules that holds a compiled kernel module as a global (``from .
    import _median_network``) gets the other build's module there for the length of a call.
    """

    def __init__(self, other: str | Path, level: str | None = None) -> None:
        folder = Path(other)
        variants_file = folder / "_variants.py"
        if not variants_file.is_file():
            raise FileNotFoundError(f"{folder} is not an installed shouxie/core folder (no _variants.py)")
        variants: dict[str, Any] = {}
        exec(compile(variants_file.read_text(), str(variants_file), "exec"), variants)
        self.folder = folder
        # the kernel families (the variant dispatched to) and the modules compiled once
        ours = {family: getattr(core, family) for family in core.cpu_info()["families"]}
        chosen = {id(module) for module in ours.values()}
        ours.update((name.rsplit(".", 1)[1], module) for name, module in sys.modules.items()
                    if name.startswith(f"{core.__name__}._") and _compiled(module)
                    and id(module) not in chosen and name.rsplit(".", 1)[1] not in SHARED)
        theirs = {id(module): _load(_counterpart(folder, name, variants, level))
                  for name, module in ours.items()}
        #: (namespace, global name, this build's module, the other's) for every binding
        self.bindings = [(vars(module), key, value, theirs[id(value)])
                         for name, module in list(sys.modules.items())
                         if name.startswith("shouxie.") and not _compiled(module)
                         for key, value in list(vars(module).items())
                         if isinstance(value, types.ModuleType) and id(value) in theirs]

    @contextlib.contextmanager
    def bound(self, other: bool) -> Iterator[None]:
        """This build's kernels (``other=False``) or the other's, then this build's again."""
        try:
            for namespace, key, mine, theirs in self.bindings:
                namespace[key] = theirs if other else mine
            yield
        finally:
            for namespace, key, mine, _ in self.bindings:
                namespace[key] = mine

    def op(self, func: Callable[..., Any], other: bool) -> Callable[..., Any]:
        """``func`` run with one build's kernels (the same rebinding for either, so the same cost)."""
        @functools.wraps(func)
        def call(**params: Any) -> Any:
            with self.bound(other):
                return func(**params)
        return call


def twin_steps(steps: list[Any], first: str = "this") -> set[str]:
    """Replace each shouxie op of the config's steps by ``this.<op>`` and ``other.<op>``, the
    ``first`` one of them (``this`` or ``other``) first, as the step's baseline; returns the ops
    replaced.

    The references of those steps are left out. A round of samples takes every op of a step in
    turn, so each op runs right after the one before it: a reference's threads and cache
    footprint would weigh on the twin after it, not on both. With only the twins in a step, each
    follows the other. Whichever runs first is warmed and calibrated first and leads every round
    of samples: :func:`main` alternates ``first`` between rounds, so that neither build has that
    place throughout.
    """
    sides = SIDES if first == SIDES[0] else SIDES[::-1]
    twinned = set()
    for raw in steps:
        if not isinstance(raw, dict):
            continue
        names = raw.get("compare") or [raw.get("op")]
        ours = [name for name in names if isinstance(name, str) and not name.startswith(NOT_TWINNED)]
        if ours:
            raw.pop("op", None)
            raw["compare"] = [f"{side}.{name}" for name in ours for side in sides]
            twinned.update(ours)
    return twinned


def run(builds: Builds, path: str | Path, *, out: str | Path, overrides: list[str], quiet: bool,
        first: str = "this") -> runner.Run:
    """One config, its shouxie ops twinned (``first``'s first), as an ordinary (serial) run."""
    pm = get_plugin_manager()
    src, registry = runner.load_with_plugins(path, pm, overrides=overrides)
    if not isinstance(src.data, dict) or not isinstance(src.data.get("steps"), list):
        raise src.error("expected a mapping with a list of 'steps'")
    for name in sorted(twin_steps(src.data["steps"], first)):
        if name in registry:
            func = registry.get(name).func
            registry.add(f"this.{name}", builds.op(func, False), plugin=PLUGIN)
            registry.add(f"other.{name}", builds.op(func, True), plugin=PLUGIN)
    config = runner.validate(src, registry)
    if config.executor.type != "serial":
        raise src.error("both builds live in this process: the executor must be serial", ("executor",))
    return runner.execute(config, registry, pm, out=out, source=str(path), options={"quiet": quiet})


def ratios(records: list[Any]) -> dict[tuple[Any, ...], tuple[float, float]]:
    """This build's and the other's median time per twinned op, by (point, step, op), from a
    run's records (or their JSON lines); the step is named with the point's sweep values
    (``median (dtype=uint8, ksize=3)``) when it has any."""
    times: dict[tuple[Any, ...], dict[str, float]] = {}
    for r in records:
        side, _, op = r["op"].partition(".")
        if side in SIDES and r["time_s"]:
            values = ", ".join(f"{k}={v}" for k, v in r["point"].items())
            step = f"{r['step']} ({values})" if values else r["step"]
            times.setdefault((r["point_index"], step, op), {})[side] = r["time_s"]["median"]
    return {key: (t["this"], t["other"]) for key, t in times.items() if len(t) == 2}


def table(rounds: list[dict[tuple[Any, ...], tuple[float, float]]]) -> tuple[list[str], list[float]]:
    """Markdown rows, one per twinned op of each step (and point), over the rounds: the medians of
    this build's and the other's times, of the ratio this / other and its range; and those ratios."""
    rows = ["| step | op | this | other | this / other | range over rounds |", "|---|---|---|---|---|---|"]
    medians = []
    for key in rounds[0]:
        got = [r[key] for r in rounds if key in r]
        each = [this / other for this, other in got]
        medians.append(statistics.median(each))
        this, other = (statistics.median(side) for side in zip(*got))
        rows.append(f"| {key[1]} | `{key[2]}` | {_ms(this)} | {_ms(other)} | {medians[-1]:.3f} | "
                    f"{min(each):.3f} - {max(each):.3f} |")
    return rows, medians


def _ms(seconds: float) -> str:
    return f"{seconds:.3g} s" if seconds >= 1 else f"{seconds * 1e3:.3g} ms"


Rounds = tuple[str, list[dict[tuple[Any, ...], tuple[float, float]]], list[str], bool]


class Exited(Exception):
    """A process running rounds exited with an error, which it printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _here(builds: Builds, path: str, args: argparse.Namespace) -> Rounds:
    """The config's rounds in this process: its name, each round's ratios and run directory, and
    whether any record failed."""
    rounds, dirs, failed = [], [], False
    start = SIDES.index(args.first)
    for i in range(max(args.rounds, 1)):
        result = run(builds, path, out=args.out, overrides=args.set, quiet=args.quiet,
                     first=SIDES[(start + i) % 2])
        failed |= result.exit_code() != runner.EXIT_OK
        rounds.append(ratios(result.records))
        dirs.append(str(result.dir))
    return result.name, rounds, dirs, failed


def _in_processes(path: str, args: argparse.Namespace) -> Rounds:
    """The config's rounds in ``args.processes`` fresh processes (this tool again), each running
    ``args.rounds`` of them into a folder of its own under ``args.out``, read back from the run
    directories. A process's memory layout can favour one build's kernels in all its rounds (an op
    that allocates a large output, say); pooling processes averages that out too. The build that
    goes first keeps alternating across processes, whatever the number of rounds in each."""
    Path(args.out).mkdir(parents=True, exist_ok=True)
    name, rounds, dirs, failed = "", [], [], False
    for k in range(args.processes):
        out = tempfile.mkdtemp(prefix=f"process{k}-", dir=args.out)
        first = SIDES[(SIDES.index(args.first) + k * max(args.rounds, 1)) % 2]
        command = [sys.executable, __file__, args.other, str(path), "--rounds", str(args.rounds),
                   "--first", first, "--out", out, "-q",
                   *(["--level", args.level] if args.level else []), *(f"--set={item}" for item in args.set)]
        done = subprocess.run(command, stdout=subprocess.DEVNULL)   # its errors: on stderr
        if done.returncode not in (runner.EXIT_OK, runner.EXIT_FAILED_RECORDS):
            raise Exited(done.returncode)
        failed |= done.returncode != runner.EXIT_OK
        for results in sorted(Path(out).glob("*/*/results.jsonl")):
            records = [json.loads(line) for line in results.read_text().splitlines()]
            name = records[0]["experiment"] if records else name
            rounds.append(ratios(records))
            dirs.append(str(results.parent))
    return name, rounds, dirs, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compare_builds", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("other", help="the shouxie/core folder of the other build")
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="YAML configs to run")
    parser.add_argument("--level", help="the other build's CPU level to run (default: the one it "
                        "would dispatch to here)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each config, the build that goes first alternating between "
                        "them; the table gives medians over them (default: 1)")
    parser.add_argument("--first", choices=SIDES, default=SIDES[0],
                        help="the build whose kernels go first in the first round (default: this)")
    parser.add_argument("--processes", type=int, default=1,
                        help="fresh processes to run the rounds in, each running --rounds of them; the "
                        "table pools all their rounds (default: 1, this process)")
    parser.add_argument("--out", default="runs", help="base directory for run directories (default: runs)")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, as in shouxie run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress, the tables only")
    args = parser.parse_args(argv)
    try:
        builds = Builds(args.other, args.level)
    except (OSError, ImportError) as exc:
        print(f"compare_builds: error: {exc}", file=sys.stderr)
        return runner.EXIT_USAGE
    print(f"this: {Path(core.__file__).parent}\nother: {builds.folder}")
    failed = False
    for path in args.configs:
        try:
            if args.processes > 1:
                name, rounds, dirs, bad = _in_processes(path, args)
            else:
                name, rounds, dirs, bad = _here(builds, path, args)
        except ConfigError as exc:
            print(f"compare_builds: error: {exc}", file=sys.stderr)
            return runner.EXIT_USAGE
        except Exited as exc:
            return exc.code
        failed |= bad
        rows, medians = table(rounds)
        print(f"\n{name}: {len(rounds)} round(s), {', '.join(dirs)}\n")
        print("\n".join(rows))
        if medians:
            within = sum(r <= 1.05 for r in medians)
            geomean = math.exp(statistics.fmean(map(math.log, medians)))
            print(f"\n{len(medians)} ops: geometric mean {geomean:.3f}, {within} within 5 % "
                  f"(this / other <= 1.05), worst {max(medians):.3f}")
    return runner.EXIT_FAILED_RECORDS if failed else runner.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
