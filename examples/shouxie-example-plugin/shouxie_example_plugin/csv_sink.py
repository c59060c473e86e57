"""An observer: ``results.csv`` in the run directory, one line per record as it arrives."""
from __future__ import annotations

import csv
import json

from shouxie.plugins import hookimpl

FILENAME = "results.csv"
COLUMNS = ("experiment", "run_id", "point", "step", "op", "plugin", "status", "time_median_s",
           "metrics", "error")


def row(record: dict) -> list:
    """The CSV cells of one record: nested values (point, metrics) as JSON."""
    median = record["time_s"]["median"] if record.get("time_s") else ""
    return [record["experiment"], record["run_id"], json.dumps(record["point"]), record["step"],
            record["op"], record["plugin"], record["status"], median,
            json.dumps(record["metrics"], default=float), record["error"] or ""]


@hookimpl
def shouxie_run_started(run):
    with open(run.dir / FILENAME, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(COLUMNS)


@hookimpl
def shouxie_record(record, run):
    with open(run.dir / FILENAME, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(row(record))
