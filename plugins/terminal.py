"""Built-in observer: progress on stderr and a summary table on stdout.

On a terminal, a tqdm progress bar; otherwise one log line per record. ``--quiet`` silences both
and the table.
"""
from __future__ import annotations

import sys

from tqdm import tqdm

from shouxie.engine.records import Record
from shouxie.engine.run import Run, Summary

from .hookspecs import hookimpl
from .summary import TABLE_HEADER, format_point, format_seconds, format_table, table_rows

#: The progress bar of each run in progress, by run id.
_BARS: dict[str, tqdm] = {}


def _quiet(run: Run) -> bool:
    return bool(run.options.get("quiet"))


@hookimpl
def shouxie_run_started(run: Run) -> None:
    if _quiet(run):
        return
    steps = len(run.config.steps)
    what = "resuming" if run.resumed else "running"
    print(f"shouxie: {what} {run.name}: {len(run.points)} point(s) x {steps} step(s), "
          f"{run.total} record(s) -> {run.dir}", file=sys.stderr)
    if sys.stderr.isatty():
        _BARS[run.run_id] = tqdm(total=run.total, initial=len(run.records), desc=run.name,
                                 unit="rec", file=sys.stderr, dynamic_ncols=True)


@hookimpl
def shouxie_record(record: Record, run: Run) -> None:
    if _quiet(run):
        return
    bar = _BARS.get(run.run_id)
    if bar is not None:
        bar.set_postfix_str(f"{record.step} {record.op} {record.status}", refresh=False)
        bar.update(1)
        return
    median = format_seconds(record.time_s["median"]) if record.time_s else "-"
    line = (f"[{len(run.records)}/{run.total}] {format_point(record.point)} {record.step} "
            f"{record.op}: {record.status} {median}")
    if record.error:
        line += f" ({record.error})"
    print(line, file=sys.stderr, flush=True)


@hookimpl
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    bar = _BARS.pop(run.run_id, None)
    if bar is not None:
        bar.close()
    if _quiet(run):
        return
    print(format_table(TABLE_HEADER, table_rows(run.records)))
    counts = ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n)
    print(f"\n{run.name}: {summary['status']}: {counts or 'no records'} in "
          f"{summary['wall_time_s']:.2f} s; results in {run.dir}")
