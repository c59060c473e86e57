"""Runtime CPU dispatch: the compiled variant of each hot kernel family, chosen at import.

The build (CMakeLists.txt) compiles the kernel families that gain from wider vectors once per
CPU level - ``baseline`` (x86-64-v2), ``avx2`` (x86-64-v3), ``avx512`` (x86-64-v4) - as
``shouxie.core._median_avx2`` and so on, and lists them in ``_variants.py`` with the CPU
features each needs; aarch64 builds its baseline only, ``SHOUXIE_NATIVE=ON`` one ``native``
variant. Importing :mod:`shouxie.core` runs :func:`install`: the best variant of each family the
CPU supports (cpuid, through ``_cpu``) becomes ``shouxie.core._median``, so the wrappers import it
as before. ``SHOUXIE_CPU=baseline|avx2|avx512`` caps the level (tests, bug reports); a level
the build lacks or the CPU cannot run is refused at import, never run.
"""
from __future__ import annotations

import importlib
import os
import platform
import sys
from typing import Any

from . import _cpu, _variants

ENV = "SHOUXIE_CPU"


def _ceiling(features: frozenset[str], forced: str | None) -> str:
    """The highest level to use: the one forced, or the best the CPU supports."""
    levels = list(_variants.LEVELS)
    supported = [lv for lv in levels if _variants.NATIVE or set(_variants.LEVELS[lv]) <= features]
    if not supported:
        lacking = sorted(set(_variants.LEVELS[levels[0]]) - features)
        raise ImportError(f"this build of shouxie needs a CPU with {', '.join(lacking)}, "
                          f"which this one ({platform.machine()}) lacks")
    if forced is None:
        return supported[-1]
    if forced not in levels:
        kind = "SHOUXIE_NATIVE=ON build" if _variants.NATIVE else "build"
        raise ImportError(f"{ENV}={forced!r}: this {kind} of shouxie has the CPU levels "
                          f"{', '.join(levels)} only")
    if forced not in supported:
        lacking = sorted(set(_variants.LEVELS[forced]) - features)
        raise ImportError(f"{ENV}={forced}: this CPU lacks {', '.join(lacking)}; it supports "
                          f"{', '.join(supported)}")
    return forced


def _choose(family: str, ceiling: str, features: frozenset[str]) -> tuple[str, str]:
    """The variant of a family to run and why."""
    levels = list(_variants.LEVELS)
    built = _variants.VARIANTS[family]
    skipped = []
    for level in reversed(levels[:levels.index(ceiling) + 1]):
        if level not in built:
            skipped.append(f"no {level} variant built")
        elif not set(built[level]) <= features and not _variants.NATIVE:
            skipped.append(f"{level} needs {', '.join(sorted(set(built[level]) - features))}")
        else:
            return level, "; ".join(skipped + [f"{level}: best of the built variants up to {ceiling}"])
    raise ImportError(f"shouxie.core.{family}: no variant this CPU runs ({'; '.join(skipped)})")


def _state() -> dict[str, Any]:
    features = frozenset(_cpu.features())
    forced = os.environ.get(ENV, "").strip() or None
    ceiling = _ceiling(features, forced)
    families = {}
    for family in _variants.VARIANTS:
        variant, reason = _choose(family, ceiling, features)
        families[family] = {"variant": variant, "built": list(_variants.VARIANTS[family]),
                            "reason": reason}
    return {"machine": platform.machine(), "features": sorted(features),
            "native_build": _variants.NATIVE, "levels": list(_variants.LEVELS),
            "forced": forced, "level": ceiling, "families": families}


_STATE = _state()


def install() -> None:
    """Make each family's chosen variant ``shouxie.core.<family>``."""
    package = sys.modules[__package__]
    for family, info in _STATE["families"].items():
        module = importlib.import_module(f"{__package__}.{family}_{info['variant']}")
        sys.modules[f"{__package__}.{family}"] = module
        setattr(package, family, module)


def cpu_info() -> dict[str, Any]:
    """Which compiled variant each kernel family runs, and why.

    Returns
    -------
    dict
        ``machine`` (``platform.machine()``), ``features`` (the CPU features detected through
        cpuid, by their ``__builtin_cpu_supports`` names), ``native_build`` (compiled with
        ``SHOUXIE_NATIVE=ON``), ``levels`` (the CPU levels of this build, lowest first),
        ``forced`` (the value of ``SHOUXIE_CPU``, or None), ``level`` (the highest level in
        use) and ``families``: for each dispatched module (``_median``...) the ``variant``
        it runs, the variants ``built`` and the ``reason``. Modules not listed are compiled
        for the baseline only.
    """
    return {**_STATE, "families": {k: dict(v) for k, v in _STATE["families"].items()}}
