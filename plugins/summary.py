"""Built-in observer: ``summary.csv`` and ``summary.md`` in the run directory when a run ends.

One row per (point, step, op): the point's values, median time, IQR, ratio to the compare
baseline, agreement with it, status and metrics.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shouxie.engine.records import Record, Status
from shouxie.engine.run import Run, Summary

from .hookspecs import hookimpl


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_metrics(metrics: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


def format_point(point: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in point.items()) or "-"


def agreement_text(record: Record) -> str:
    """``baseline``, ``agrees`` (with the largest difference), ``MISMATCH``, or ``-``."""
    if record.baseline is None:
        return "-"
    if record.op == record.baseline:
        return "baseline"
    check = record.agreement
    if not check or check.get("ok") is None:
        return "-"
    diff = check.get("max_abs_diff")
    shown = f" (max diff {diff:.2g})" if diff else ""
    return ("agrees" if check["ok"] else "MISMATCH") + shown


def ratio_text(record: Record) -> str:
    return "-" if record.time_ratio is None else f"{record.time_ratio:.3g}"


def _ordered(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: r.point_index)


def table_rows(records: list[Record]) -> list[tuple[str, ...]]:
    """Human-readable rows: point, step, op, status, median, ratio, agreement, metrics or error."""
    rows: list[tuple[str, ...]] = []
    for r in _ordered(records):
        median = r.time_s["median"] if r.time_s else None
        detail = format_metrics(r.metrics) if r.status == Status.OK else (r.error or "")
        rows.append((format_point(r.point), r.step, r.op, str(r.status), format_seconds(median),
                     ratio_text(r), agreement_text(r), detail))
    return rows


TABLE_HEADER = ("point", "step", "op", "status", "median", "ratio", "agreement", "metrics / error")


def format_table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(path: Path, records: list[Record]) -> None:
    axes = list(dict.fromkeys(k for r in records for k in r.point))
    metrics = list(dict.fromkeys(k for r in records for k in r.metrics))
    header = ["point_index", *axes, "step", "op", "status", "median_s", "iqr_s", "min_s", "repeat",
              "baseline", "time_ratio", "agrees", "max_abs_diff", *(f"metric.{m}" for m in metrics), "error"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for r in _ordered(records):
            t: dict[str, Any] = dict(r.time_s or {})
            check = r.agreement or {}
            out.writerow([r.point_index, *(_cell(r.point.get(a)) for a in axes), r.step, r.op,
                          r.status, t.get("median"), t.get("iqr"), t.get("min"), t.get("repeat"),
                          r.baseline, r.time_ratio, check.get("ok"), check.get("max_abs_diff"),
                          *(r.metrics.get(m) for m in metrics), r.error])


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(run: Run, records: list[Record], summary: Summary) -> str:
    header = ("point", "step", "op", "status", "median", "IQR", "ratio to baseline", "agreement",
              "metrics / error")
    lines = [f"# {run.name} ({run.run_id})", "",
             f"{summary['status']}; started {run.started}; {len(records)} record(s); "
             f"executor {run.config.executor.type}, repeat {run.config.repeat}, "
             f"warmup {run.config.warmup}, min_time {run.config.min_time:g} s.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r, row in zip(_ordered(records), table_rows(records)):
        iqr = format_seconds(r.time_s["iqr"]) if r.time_s else "-"
        cells = (*row[:5], iqr, *row[5:])
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


@hookimpl
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    write_csv(run.dir / "summary.csv", run.records)
    (run.dir / "summary.md").write_text(markdown(run, run.records, summary), encoding="utf-8")
