"""Built-in observer: a start line and a summary table on the terminal."""
from __future__ import annotations

import sys

from .hookspecs import hookimpl


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _format_metrics(metrics: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


def summary_rows(records: list[dict]) -> list[tuple[str, ...]]:
    rows = []
    for r in records:
        point = ",".join(f"{k}={v}" for k, v in r["point"].items()) or "-"
        median = r["time_s"]["median"] if r["time_s"] else None
        detail = _format_metrics(r["metrics"]) if r["status"] == "ok" else (r["error"] or "")
        rows.append((point, r["step"], r["op"], r["status"], format_seconds(median), detail))
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@hookimpl
def shouxie_run_started(run):
    steps = len(run.config.steps)
    print(f"shouxie: {run.name}: {len(run.points)} point(s) x {steps} step(s) -> {run.dir}",
          file=sys.stderr)


@hookimpl
def shouxie_run_finished(run, summary):
    header = ("point", "step", "op", "status", "median", "metrics / error")
    print(format_table(header, summary_rows(run.records)))
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n)
    print(f"\n{run.name}: {counts or 'no records'} in {summary['wall_time_s']:.2f} s; results in {run.dir}")
