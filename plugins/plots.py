"""Built-in observer: PNG plots in ``<run dir>/plots/`` when a run ends (needs the ``plot`` extra).

For every numeric sweep axis with at least two values: time versus the axis (log-log), one line per
op (the ops of a ``compare`` step share a plot), and each metric versus the axis. Points that
differ in other axes get their own lines. Without matplotlib, nothing is drawn.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from typing import Any

from shouxie.engine.records import Record
from shouxie.engine.run import Run, Summary

from .hookspecs import hookimpl


def _numeric_axes(records: list[Record]) -> list[str]:
    values: defaultdict[str, set[Any]] = defaultdict(set)
    for r in records:
        for k, v in r.point.items():
            values[k].add(v if isinstance(v, Real) and not isinstance(v, bool) else None)
    return [k for k, vs in values.items() if None not in vs and len(vs) > 1]


def _series(records: list[Record], axis: str,
            value: Callable[[Record], float | None]) -> dict[str, list[tuple[float, float]]]:
    """Lines keyed by op and the other axes' values: sorted (axis value, y) pairs."""
    lines: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in records:
        y = value(r)
        if y is None:
            continue
        others = ",".join(f"{k}={v}" for k, v in r.point.items() if k != axis)
        label = r.op + (f" [{others}]" if others else "")
        lines[label].append((r.point[axis], y))
    return {label: sorted(pts) for label, pts in lines.items()}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _draw(plt: Any, path: Path, lines: dict[str, list[tuple[float, float]]], axis: str, ylabel: str,
          title: str, loglog: bool) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, pts in lines.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set(xlabel=axis, ylabel=ylabel, title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_run(run: Run) -> list[Path]:
    """Write the plots of a finished run; the paths written."""
    axes = _numeric_axes(run.records)
    if not axes:
        return []
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = run.dir / "plots"
    out.mkdir(exist_ok=True)
    written = []
    by_step: defaultdict[str, list[Record]] = defaultdict(list)
    for r in run.records:
        by_step[r.step].append(r)
    for axis in axes:
        for step, records in by_step.items():
            lines = _series(records, axis, lambda r: r.time_s["median"] if r.time_s else None)
            if any(len(pts) > 1 for pts in lines.values()):
                path = out / f"time_{_safe(step)}_vs_{_safe(axis)}.png"
                _draw(plt, path, lines, axis, "median time per call (s)", f"{step}: time", True)
                written.append(path)
            for metric in dict.fromkeys(m for r in records for m in r.metrics):
                lines = _series(records, axis, lambda r: r.metrics.get(metric))
                if any(len(pts) > 1 for pts in lines.values()):
                    path = out / f"metric_{_safe(step)}_{_safe(metric)}_vs_{_safe(axis)}.png"
                    _draw(plt, path, lines, axis, metric, f"{step}: {metric}", False)
                    written.append(path)
    return written


@hookimpl
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    plot_run(run)
