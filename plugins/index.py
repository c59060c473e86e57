"""Built-in observer: a SQLite index of every run at ``<out>/index.sqlite``, and ``shouxie runs``.

The driver process writes it (observers run in the driver only): table ``runs`` (one row per run)
and table ``records`` (one row per record). ``shouxie runs list``, ``shouxie runs show RUN`` and
``shouxie runs compare RUN_A RUN_B`` read it; ``compare`` exits 1 when a step got slower than
``--factor`` (default 1.1), so it can gate CI.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from shouxie.engine.records import Record
from shouxie.engine.run import EXIT_USAGE, Run, Summary

from .hookspecs import hookimpl
from .summary import format_point, format_seconds, format_table

INDEX_NAME = "index.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, experiment TEXT NOT NULL, dir TEXT NOT NULL, started TEXT NOT NULL,
    status TEXT NOT NULL, seed INTEGER, executor TEXT, n_records INTEGER DEFAULT 0, total INTEGER,
    counts TEXT, wall_time_s REAL, config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    run_id TEXT NOT NULL REFERENCES runs(run_id), point_index INTEGER NOT NULL, point TEXT NOT NULL,
    step TEXT NOT NULL, op TEXT NOT NULL, plugin TEXT, status TEXT NOT NULL, median_s REAL,
    iqr_s REAL, min_s REAL, baseline TEXT, time_ratio REAL, agrees INTEGER, metrics TEXT,
    error TEXT, PRIMARY KEY (run_id, point_index, step, op)
);
"""


def connect(out: str | Path) -> sqlite3.Connection:
    db = sqlite3.connect(Path(out) / INDEX_NAME, timeout=30)
    db.row_factory = sqlite3.Row
    db.executescript(SCHEMA)
    return db


def _record_row(record: Record) -> tuple[Any, ...]:
    t = record.time_s
    check = record.agreement or {}
    agrees = None if check.get("ok") is None else int(check["ok"])
    return (record.run_id, record.point_index, json.dumps(record.point, sort_keys=True),
            record.step, record.op, record.plugin, record.status.value, t and t["median"],
            t and t["iqr"], t and t["min"], record.baseline, record.time_ratio, agrees,
            json.dumps(record.metrics), record.error)


def _insert_records(db: sqlite3.Connection, records: list[Record]) -> None:
    db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [_record_row(r) for r in records])


@hookimpl
def shouxie_run_started(run: Run) -> None:
    with closing(connect(run.out)) as db, db:
        db.execute("INSERT OR REPLACE INTO runs (run_id, experiment, dir, started, status, seed, "
                   "executor, total, config) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                   (run.run_id, run.name, str(run.dir.resolve()), run.started, run.config.seed,
                    run.config.executor.type, run.total, json.dumps(run.config.as_dict())))
        db.execute("DELETE FROM records WHERE run_id = ?", (run.run_id,))
        _insert_records(db, run.records)


@hookimpl
def shouxie_record(record: Record, run: Run) -> None:
    with closing(connect(run.out)) as db, db:
        _insert_records(db, [record])


@hookimpl
def shouxie_run_finished(run: Run, summary: Summary) -> None:
    with closing(connect(run.out)) as db, db:
        db.execute("UPDATE runs SET status = ?, n_records = ?, counts = ?, wall_time_s = ? WHERE run_id = ?",
                   (summary["status"], len(run.records), json.dumps(summary["counts"]),
                    summary["wall_time_s"], run.run_id))


# --------------------------------------------------------------------------- shouxie runs
class RunNotFound(LookupError):
    pass


def find_run(db: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A run by id, unique id prefix, or directory."""
    rows = db.execute("SELECT * FROM runs WHERE run_id LIKE ? ORDER BY started", (ref + "%",)).fetchall()
    if not rows and Path(ref).exists():
        rows = db.execute("SELECT * FROM runs WHERE dir = ?", (str(Path(ref).resolve()),)).fetchall()
    if len(rows) != 1:
        what = "no run" if not rows else f"{len(rows)} runs ({', '.join(r['run_id'] for r in rows)})"
        raise RunNotFound(f"{what} match {ref!r}; see `shouxie runs list`")
    return rows[0]


def _records(db: sqlite3.Connection, run_id: str) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM records WHERE run_id = ? ORDER BY point_index, rowid",
                      (run_id,)).fetchall()


def _point(row: sqlite3.Row) -> str:
    return format_point(json.loads(row["point"]))


def _cmd_list(args: argparse.Namespace, db: sqlite3.Connection) -> int:
    params: tuple[str, ...]
    query, params = "SELECT * FROM runs", ()
    if args.experiment:
        query, params = query + " WHERE experiment = ?", (args.experiment,)
    rows = db.execute(query + " ORDER BY started", params).fetchall()
    header = ("run", "experiment", "started", "status", "records", "counts", "dir")
    print(format_table(header, [
        (r["run_id"], r["experiment"], r["started"], r["status"], f"{r['n_records']}/{r['total']}",
         " ".join(f"{k}={v}" for k, v in json.loads(r["counts"] or "{}").items() if v), r["dir"])
        for r in rows]))
    return 0


def _cmd_show(args, db) -> int:
    run = find_run(db, args.run)
    print(f"run {run['run_id']}: {run['experiment']}, started {run['started']}, {run['status']}, "
          f"seed {run['seed']}, executor {run['executor']}\n{run['dir']}\n")
    header = ("point", "step", "op", "status", "median", "IQR", "ratio", "agrees", "metrics / error")
    rows = []
    for r in _records(db, run["run_id"]):
        metrics = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in json.loads(r["metrics"]).items())
        ratio = "-" if r["time_ratio"] is None else f"{r['time_ratio']:.3g}"
        agrees = {None: "-", 1: "yes", 0: "NO"}[r["agrees"]]
        rows.append((_point(r), r["step"], r["op"], r["status"], format_seconds(r["median_s"]),
                     format_seconds(r["iqr_s"]), ratio, agrees, r["error"] or metrics))
    print(format_table(header, rows))
    return 0


def _cmd_compare(args, db) -> int:
    a, b = find_run(db, args.run_a), find_run(db, args.run_b)
    old = {(r["point"], r["step"], r["op"]): r for r in _records(db, a["run_id"])}
    header = ("point", "step", "op", f"median {a['run_id']}", f"median {b['run_id']}", "ratio", "flag")
    rows, regressions = [], 0
    for r in _records(db, b["run_id"]):
        before = old.get((r["point"], r["step"], r["op"]))
        if before is None or not before["median_s"] or r["median_s"] is None:
            continue
        ratio = r["median_s"] / before["median_s"]
        flag = ""
        if ratio > args.factor:
            flag, regressions = "REGRESSION", regressions + 1
        elif ratio < 1 / args.factor:
            flag = "faster"
        rows.append((_point(r), r["step"], r["op"], format_seconds(before["median_s"]),
                     format_seconds(r["median_s"]), f"{ratio:.3g}", flag))
    print(format_table(header, rows))
    print(f"\n{len(rows)} timed record(s) in both runs; {regressions} slower than x{args.factor:g}")
    return 1 if regressions else 0


def _runs_handler(command):
    def handle(args) -> int:
        path = Path(args.out) / INDEX_NAME
        if not path.exists():
            print(f"shouxie: error: no run index at {path} (pass --out DIR of `shouxie run`)",
                  file=sys.stderr)
            return EXIT_USAGE
        try:
            with closing(connect(args.out)) as db:
                return command(args, db)
        except RunNotFound as exc:
            print(f"shouxie: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return handle


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value >= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


@hookimpl
def shouxie_register_commands(subparsers):
    runs = subparsers.add_parser("runs", help="list, show and compare recorded runs")
    sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    commands = (
        ("list", "list every run in the index", _cmd_list),
        ("show", "show one run's records", _cmd_show),
        ("compare", "time ratio per step and point; exit 1 on a regression", _cmd_compare),
    )
    for name, help_text, command in commands:
        parser = sub.add_parser(name, help=help_text)
        parser.add_argument("--out", default="runs", help="base directory of the runs (default: runs)")
        if name == "list":
            parser.add_argument("--experiment", help="only runs of this experiment")
        elif name == "show":
            parser.add_argument("run", help="run id, unique id prefix, or run directory")
        else:
            parser.add_argument("run_a", help="the reference run (id, prefix or directory)")
            parser.add_argument("run_b", help="the run checked against it")
            parser.add_argument("--factor", type=_factor, default=1.1,
                                help="flag a regression when B's median exceeds A's by this factor "
                                     "(default 1.1)")
        parser.set_defaults(func=_runs_handler(command))
