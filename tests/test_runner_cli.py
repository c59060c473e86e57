"""The runner end to end through the command line, in a temporary directory."""
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from shouxie.runner import main

ROOT = Path(__file__).resolve().parent.parent

#: Ops for these tests, loaded through a config's `plugins:` list or `-p` (workers load it too).
PLUGIN = '''
import os
import time

import numpy as np

from shouxie.plugins import hookimpl


def exact(n=6, seed=0):
    """Random floats, their order (integers) and their sum."""
    x = np.random.default_rng(seed).random(n)
    return {"x": x, "order": np.argsort(x), "total": float(x.sum())}


def close(n=6, seed=0):
    """Like exact, within 1e-9 relative."""
    out = exact(n, seed)
    out["x"] = out["x"] * (1 + 1e-9)
    return out


def wrong_float(n=6, seed=0):
    """Like exact, with element 2 of x off by 0.5."""
    out = exact(n, seed)
    out["x"][2] += 0.5
    return out


def wrong_int(n=6, seed=0):
    """Like exact, with the order reversed."""
    out = exact(n, seed)
    out["order"] = out["order"][::-1].copy()
    return out


def missing(n=6, seed=0):
    """Like exact, without 'total'."""
    out = exact(n, seed)
    del out["total"]
    return out


def scrub(x):
    """Sum x, then zero it in place (a badly behaved op)."""
    total = float(np.sum(x))
    x[...] = 0
    return total


def flaky(marker, value=0):
    """Fails while the marker file exists."""
    if os.path.exists(marker):
        raise RuntimeError("flaky failure")
    return {"ok": 1}


def flaky_close(n=6, seed=0):
    """Like close; fails while a file 'marker' exists in the working directory."""
    if os.path.exists("marker"):
        raise RuntimeError("flaky failure")
    return close(n, seed)


def count(path, k):
    """Append k to the file at path (counts calls); return k."""
    with open(path, "a") as fh:
        fh.write(f"{k}\\n")
    return {"k": k}


def sleep(seconds, k=0):
    """Sleep, then return k."""
    time.sleep(seconds)
    return {"k": k}


def quick(k=0):
    """Almost nothing."""
    return k


@hookimpl
def shouxie_register_ops(registry):
    for func in (exact, close, wrong_float, wrong_int, missing, scrub, flaky, flaky_close, count, sleep,
                 quick):
        registry.add(f"t.{func.__name__}", func)
    registry.add("t.scrub_again", scrub)
'''


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A temp dir with the test plugin importable here, in subprocesses and in pool workers."""
    (tmp_path / "runner_test_ops.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(path, text):
    path = Path(path)
    path.write_text("plugins: [runner_test_ops]\n" + textwrap.dedent(text))
    return str(path)


def run_dirs(out):
    return sorted(p for p in Path(out).glob("*/*") if p.is_dir())


def records_of(run_dir):
    return [json.loads(line) for line in (Path(run_dir) / "results.jsonl").read_text().splitlines()]


def shouxie(*args):
    return main([str(a) for a in args])


# --------------------------------------------------------------------------- compare
COMPARE = """
name: cmp
repeat: 3
steps:
  - name: c
    compare: [t.exact, {other}]
    params: {{n: 8, seed: 1}}
    rtol: 1e-6
    atol: 0
"""


def test_compare_agreeing_ops_report_ratio_and_agreement(env):
    assert shouxie("run", config("c.yaml", COMPARE.format(other="t.close")), "--out", "out") == 0
    base, other = records_of(run_dirs("out")[0])
    assert base["op"] == "t.exact" and other["op"] == "t.close"
    assert base["baseline"] == other["baseline"] == "t.exact"
    assert base["time_ratio"] == 1.0 and other["time_ratio"] > 0
    assert other["time_ratio"] == pytest.approx(other["time_s"]["median"] / base["time_s"]["median"])
    assert other["status"] == "ok" and other["agreement"]["ok"] is True
    assert 0 < other["agreement"]["max_abs_diff"] < 1e-8


@pytest.mark.parametrize("other, key, detail", [
    ("t.wrong_float", "x", "rtol=1e-06, atol=0"),
    ("t.wrong_int", "order", "exact"),
    ("t.missing", "total", "missing"),
])
def test_compare_catches_a_mismatch(env, capsys, other, key, detail):
    assert shouxie("run", config("c.yaml", COMPARE.format(other=other)), "--out", "out") == 1
    base, bad = records_of(run_dirs("out")[0])
    assert base["status"] == "ok"
    assert bad["status"] == "mismatch" and bad["agreement"]["ok"] is False
    assert bad["agreement"]["key"] == key
    assert detail in json.dumps(bad["agreement"]) + bad["error"]
    if other == "t.wrong_float":
        assert bad["agreement"]["max_abs_diff"] == pytest.approx(0.5)
        assert bad["agreement"]["index"] == [2] and bad["agreement"]["mismatched"] == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_compared_ops_get_the_same_inputs(env):
    # scrub zeroes its input in place: the next compared op must still see the original values
    cfg = config("c.yaml", """
        name: same
        min_time: 0
        steps:
          - {name: data, op: t.exact, params: {n: 5}}
          - {name: s, compare: [t.scrub, t.scrub_again], params: {x: "@data.x"}}
          - {name: after, op: t.scrub, params: {x: "@data.x"}}
    """)
    assert shouxie("run", cfg, "--out", "out") == 0
    data, first, second, after = records_of(run_dirs("out")[0])
    assert first["outputs"]["value"] == second["outputs"]["value"] == after["outputs"]["value"]
    assert first["outputs"]["value"] == pytest.approx(data["metrics"]["total"])


# --------------------------------------------------------------------------- config
def test_sweep_times_zip(env):
    cfg = config("z.yaml", """
        name: grid
        min_time: 0
        sweep: {a: [1, 2]}
        zip: {b: [10, 20, 30], c: [x, y, z]}
        steps:
          - {name: q, op: t.quick, params: {k: "${a}-${b}-${c}"}}
    """)
    assert shouxie("run", cfg, "--out", "out") == 0
    records = records_of(run_dirs("out")[0])
    assert [r["outputs"]["value"] for r in records] == [
        "1-10-x", "1-20-y", "1-30-z", "2-10-x", "2-20-y", "2-30-z"]
    assert len({r["seed"] for r in records}) == 6


def test_unequal_zip_is_a_config_error(env, capsys):
    cfg = config("z.yaml", """
        name: grid
        zip: {b: [10, 20], c: [x]}
        steps:
          - {name: q, op: t.quick}
    """)
    assert shouxie("run", cfg, "--out", "out") == 4
    assert "z.yaml:4: zip: zip lists must have equal lengths, got b: 2, c: 1" in capsys.readouterr().err


def test_overrides_and_sweep_option_are_saved(env):
    cfg = config("o.yaml", """
        name: over
        repeat: 2
        sweep: {n: [5]}
        steps:
          - {name: data, op: t.exact, params: {n: "${n}", seed: 0}}
          - {name: c, compare: [t.exact, t.close], params: {n: 3}}
    """)
    assert shouxie("run", cfg, "--out", "out", "-s", "repeat=3", "-s", "steps.data.params.seed=4",
                   "-s", "steps.c.rtol=1e-3", "--sweep", "n=2,3,4") == 0
    run_dir = run_dirs("out")[0]
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["repeat"] == 3 and saved["sweep"] == {"n": [2, 3, 4]}
    assert saved["steps"][0]["params"]["seed"] == 4 and saved["steps"][1]["rtol"] == 1e-3
    assert saved["plugins"] == ["runner_test_ops"] and saved["executor"] == {"type": "serial"}
    records = records_of(run_dir)
    assert [r["outputs"]["x"]["shape"] for r in records if r["step"] == "data"] == [[2], [3], [4]]
    assert all(r["time_s"]["repeat"] == 3 for r in records)
    # the saved config reruns as is
    assert shouxie("run", run_dir / "config.yaml", "--out", "again") == 0


@pytest.mark.parametrize("args, message", [
    (["-s", "repaet=3"], "command line (-s repaet=3): repaet: unknown key 'repaet' (did you mean 'repeat'?)"),
    (["-s", "steps.dta.params.n=3"], "no step 'dta' (did you mean 'data'?)"),
    (["-s", "steps.data.params.n=[1"], "invalid -s steps.data.params.n=[1 value"),
    (["-s", "repeat"], "-s expects KEY=VALUE"),
    (["--sweep", "n="], "command line (--sweep n=): sweep.n: expected a non-empty list"),
    (["-s", "executor=dsak"], "unknown executor 'dsak' (did you mean 'dask'?)"),
])
def test_override_errors(env, capsys, args, message):
    cfg = config("o.yaml", """
        name: over
        steps:
          - {name: data, op: t.exact, params: {n: 3}}
    """)
    assert shouxie("run", cfg, "--out", "out", *args) == 4
    assert message in capsys.readouterr().err
    assert not Path("out").exists()


@pytest.mark.parametrize("text, message", [
    ("name: x\nstesp: []\n", "x.yaml:3: stesp: unknown key 'stesp' (did you mean 'steps'?)"),
    ("name: x\nmin_time: -1\nsteps:\n  - {name: a, op: t.quick}\n", "x.yaml:3: min_time: expected a finite number >= 0"),
    ("name: x\nsteps:\n  - {name: a, op: t.quick, compare: [t.quick, t.exact]}\n",
     "x.yaml:4: steps[0]: a step has exactly one of 'op'"),
    ("name: x\nsteps:\n  - {name: a, compare: [t.quick]}\n", "expected a list of at least two ops"),
    ("name: x\nsteps:\n  - {name: a, compare: [t.exact, t.clsoe]}\n",
     "x.yaml:4: steps[0].compare[1]: unknown op 't.clsoe' (did you mean 't.close'?)"),
    ("name: x\nsteps:\n  - {name: a, op: t.quick, rtol: 0.1}\n", "'rtol' applies to 'compare' steps only"),
    ("name: x\nsteps:\n  - {name: a, compare: [t.quick, t.quick]}\n", "an op appears twice in compare"),
    ("name: x\nsteps:\n  - {name: a, compare: [t.exact, t.close], rtol: lots}\n",
     "steps[0].rtol: expected a finite number >= 0, got 'lots'"),
    ("name: x\nsteps:\n  - {name: a, compare: [t.exact, t.quick], params: {n: 3}}\n",
     "op 't.quick': got an unexpected keyword argument 'n'"),
    ("name: x\nexecutor: {type: process, wrokers: 2}\nsteps:\n  - {name: a, op: t.quick}\n",
     "executor.wrokers: unknown key 'wrokers' (did you mean 'workers'?)"),
    ("name: x\nsweep: {n: [1]}\nzip: {n: [2]}\nsteps:\n  - {name: a, op: t.quick}\n",
     "'n' is both a sweep and a zip variable"),
])
def test_schema_errors_name_file_line_and_key(env, capsys, text, message):
    Path("x.yaml").write_text("plugins: [runner_test_ops]\n" + text)
    assert shouxie("run", "x.yaml", "--out", "out") == 4
    assert message in capsys.readouterr().err


def test_plugins_key_and_p_option(env, capsys):
    Path("p.yaml").write_text("name: p\nsteps:\n  - {name: a, op: t.quick}\n")
    assert shouxie("run", "p.yaml", "--out", "out") == 4
    assert "unknown op 't.quick'" in capsys.readouterr().err
    assert shouxie("run", "p.yaml", "--out", "out", "-p", "runner_test_ops") == 0
    Path("bad.yaml").write_text("name: p\nplugins: [no_such_module_x]\nsteps:\n  - {name: a, op: t.quick}\n")
    assert shouxie("run", "bad.yaml", "--out", "out") == 4
    err = capsys.readouterr().err
    assert "bad.yaml:2: plugins[0]: cannot load plugin 'no_such_module_x'" in err


def test_dry_run_lists_points_and_runs_nothing(env, capsys):
    cfg = config("d.yaml", """
        name: dry
        sweep: {n: [2, 3]}
        steps:
          - {name: data, op: t.exact, params: {n: "${n}"}}
          - {name: c, compare: [t.exact, t.close], params: {n: "${n}"}}
    """)
    assert shouxie("run", cfg, "--out", "out", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2 point(s) x 2 step(s)" in out and "compare t.exact, t.close (baseline t.exact)" in out
    assert "point 1: n=3 (seed" in out
    assert not Path("out").exists()
    Path(cfg).write_text(Path(cfg).read_text().replace('"${n}"}}\n  - {name: c', '"${nn}"}}\n  - {name: c'))
    assert shouxie("run", cfg, "--out", "out", "--dry-run") == 4
    assert "d.yaml:6: steps[0].params.n: unknown sweep variable '${nn}' (did you mean '${n}'?)" in capsys.readouterr().err


# --------------------------------------------------------------------------- timing and results
def test_timing_record_keeps_samples_and_calibrates(env):
    cfg = config("t.yaml", """
        name: timing
        repeat: 5
        warmup: 2
        min_time: 0.001
        steps:
          - {name: q, op: t.quick}
          - {name: s, op: t.sleep, params: {seconds: 0.002}, repeat: 2, min_time: 0}
    """)
    assert shouxie("run", cfg, "--out", "out") == 0
    quick, slow = records_of(run_dirs("out")[0])
    t = quick["time_s"]
    assert len(t["samples"]) == t["repeat"] == 5 and t["number"] > 1
    assert t["min"] == min(t["samples"]) and t["min"] <= t["median"] <= t["max"] and t["iqr"] >= 0
    assert slow["time_s"]["repeat"] == 2 and slow["time_s"]["number"] == 1
    assert slow["time_s"]["min"] >= 0.002


def test_run_directory_files(env):
    pytest.importorskip("matplotlib")
    cfg = config("r.yaml", """
        name: files
        min_time: 0
        sweep: {n: [4, 8, 16]}
        steps:
          - {name: c, compare: [t.exact, t.close], params: {n: "${n}"}}
    """)
    assert shouxie("run", cfg, "--out", "out") == 0
    run_dir = run_dirs("out")[0]
    env_json = json.loads((run_dir / "env.json").read_text())
    assert "OMP_NUM_THREADS" in env_json["threads"]["env"] and "threadpools" in env_json["threads"]
    rows = list(csv.DictReader((run_dir / "summary.csv").open()))
    assert len(rows) == 6 and rows[1]["op"] == "t.close" and rows[1]["agrees"] == "True"
    assert {"n", "median_s", "iqr_s", "time_ratio", "metric.total"} <= set(rows[0])
    md = (run_dir / "summary.md").read_text()
    assert md.startswith("# files") and "| n=16 | c | t.close | ok |" in md and "agrees" in md
    plots = sorted(p.name for p in (run_dir / "plots").glob("*.png"))
    assert plots == ["metric_c_total_vs_n.png", "time_c_vs_n.png"]
    assert (run_dir / "plots" / "time_c_vs_n.png").read_bytes()[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- terminal
def test_quiet_prints_nothing_and_plain_lines_otherwise(env, capsys):
    cfg = config("q.yaml", "name: q\nmin_time: 0\nsteps:\n  - {name: a, op: t.quick}\n")
    assert shouxie("run", cfg, "--out", "out", "--quiet") == 0
    assert capsys.readouterr() == ("", "")
    assert shouxie("run", cfg, "--out", "out") == 0
    captured = capsys.readouterr()
    assert "[1/1] - a t.quick: ok" in captured.err and "q: finished: 1 ok" in captured.out


def test_progress_bar_on_a_terminal(env, capsys, monkeypatch):
    cfg = config("q.yaml", "name: q\nmin_time: 0\nsweep: {k: [1, 2, 3]}\nsteps:\n  - {name: a, op: t.quick}\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert shouxie("run", cfg, "--out", "out") == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "[1/3]" not in err


# --------------------------------------------------------------------------- failures
FAILING = """
name: fail
min_time: 0
sweep: {{k: [p, q]}}   # not numeric: no plots, a faster test
steps:
  - {{name: a, op: t.count, params: {{path: {a}, k: "${{k}}"}}}}
  - {{name: b, op: t.flaky, params: {{marker: {marker}, value: "@a.k"}}}}
  - {{name: c, op: t.count, params: {{path: {c}, k: "@b.ok"}}}}
  - {{name: d, op: t.count, params: {{path: {d}, k: "${{k}}"}}}}
"""


def failing_config(env):
    marker = env / "marker"
    marker.touch()
    return config("f.yaml", FAILING.format(a=env / "a.txt", marker=marker, c=env / "c.txt", d=env / "d.txt"))


def test_errors_are_records_dependents_skipped_traceback_in_log(env):
    assert shouxie("run", failing_config(env), "--out", "out") == 1
    run_dir = run_dirs("out")[0]
    records = records_of(run_dir)
    assert [r["status"] for r in records] == ["ok", "error", "skipped", "ok"] * 2
    assert records[1]["error"] == "RuntimeError: flaky failure" and "traceback" not in records[1]
    assert "step 'b' did not complete" in records[2]["error"]
    log = (run_dir / "run.log").read_text()
    assert "Traceback (most recent call last)" in log and "flaky failure" in log


def test_fail_fast_stops_at_the_first_failure(env):
    assert shouxie("run", failing_config(env), "--out", "out", "--fail-fast") == 1
    records = records_of(run_dirs("out")[0])
    assert [r["status"] for r in records] == ["ok", "error"]


def test_resume_redoes_nothing_finished(env):
    assert shouxie("run", failing_config(env), "--out", "out") == 1
    run_dir = run_dirs("out")[0]
    before = {(r["point_index"], r["step"]): r for r in records_of(run_dir) if r["status"] == "ok"}
    assert Path("d.txt").read_text().split() == ["p", "q"]
    (env / "marker").unlink()
    assert shouxie("run", "--resume", run_dir, "--out", "ignored") == 0
    records = records_of(run_dir)
    assert len(records) == 8 and all(r["status"] == "ok" for r in records)
    assert len({(r["point_index"], r["step"], r["op"]) for r in records}) == 8
    for key, record in before.items():  # finished records are kept as they were
        assert next(r for r in records if (r["point_index"], r["step"]) == key) == record
    assert Path("d.txt").read_text().split() == ["p", "q"]  # d was finished: not called again
    # a was finished too, but b needs its output: called once more per point, untimed, unrecorded
    assert Path("a.txt").read_text().split() == ["p", "q", "p", "q"]
    assert Path("c.txt").read_text().split() == ["1", "1"]
    assert run_dirs("out") == [run_dir]
    assert shouxie("run", "--resume", run_dir, "-s", "repeat=2") == 4


def test_resume_a_compare_step_checks_against_the_kept_baseline(env):
    (env / "marker").touch()
    cfg = config("rc.yaml", """
        name: rc
        repeat: 3
        steps:
          - {name: c, compare: [t.exact, t.flaky_close], params: {n: 4}}
    """)
    assert shouxie("run", cfg, "--out", "out") == 1
    run_dir = run_dirs("out")[0]
    base, failed = records_of(run_dir)
    assert failed["status"] == "error"
    (env / "marker").unlink()
    assert shouxie("run", "--resume", run_dir) == 0
    kept, done = records_of(run_dir)
    assert kept == base
    assert done["status"] == "ok" and done["agreement"]["ok"] is True
    assert done["time_ratio"] == pytest.approx(done["time_s"]["median"] / base["time_s"]["median"])


def test_sigint_leaves_valid_jsonl_and_resume_completes(env):
    cfg = config("i.yaml", """
        name: slow
        min_time: 0
        sweep: {k: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]}
        steps:
          - {name: s, op: t.sleep, params: {seconds: 0.1, k: "${k}"}}
    """)
    # The child gets SIGINT's default action back: a shell's background job (`cmd &`) starts
    # with SIGINT ignored, and a child inherits that (Python then never raises KeyboardInterrupt).
    proc = subprocess.Popen([sys.executable, str(ROOT / "runner.py"), "run", cfg, "--out", "out"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline:
        dirs = run_dirs("out") if Path("out").exists() else []
        results = dirs[0] / "results.jsonl" if dirs else None
        if results and results.exists() and len(results.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "interrupted" in err
    run_dir = run_dirs("out")[0]
    text = (run_dir / "results.jsonl").read_text()
    assert text.endswith("\n")
    done = [json.loads(line) for line in text.splitlines()]  # every line is valid JSON
    assert 3 <= len(done) < 20
    assert shouxie("run", "--resume", run_dir, "--quiet") == 0
    records = records_of(run_dir)
    assert records[:len(done)] == done
    assert sorted(r["outputs"]["k"] for r in records) == list(range(1, 21))
    db = sqlite3.connect(Path("out") / "index.sqlite")
    assert db.execute("SELECT status, n_records FROM runs").fetchall() == [("finished", 20)]


# --------------------------------------------------------------------------- run index
def test_runs_list_show_compare_and_regression_gate(env, capsys):
    cfg = config("g.yaml", """
        name: gate
        min_time: 0
        repeat: 3
        steps:
          - {name: w, op: t.sleep, params: {seconds: 0.001}}
    """)
    assert shouxie("run", cfg, "--out", "out", "--quiet") == 0
    assert shouxie("run", cfg, "--out", "out", "--quiet", "-s", "steps.w.params.seconds=0.03") == 0
    db = sqlite3.connect(Path("out") / "index.sqlite")
    (fast, fast_dir), (slow, _) = db.execute("SELECT run_id, dir FROM runs ORDER BY started, rowid").fetchall()
    assert db.execute("SELECT COUNT(*) FROM records").fetchone() == (2,)
    assert shouxie("runs", "list", "--out", "out") == 0
    listing = capsys.readouterr().out
    assert fast in listing and slow in listing and "gate" in listing
    assert shouxie("runs", "show", fast[:5], "--out", "out") == 0
    assert "t.sleep" in capsys.readouterr().out
    assert shouxie("runs", "show", fast_dir, "--out", "out") == 0
    capsys.readouterr()
    assert shouxie("runs", "compare", fast, slow, "--out", "out") == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert shouxie("runs", "compare", slow, fast, "--out", "out") == 0
    assert "faster" in capsys.readouterr().out
    assert shouxie("runs", "compare", fast, slow, "--out", "out", "--factor", "1000") == 0
    assert shouxie("runs", "show", "nosuchrun", "--out", "out") == 4
    assert shouxie("runs", "list", "--out", "elsewhere") == 4


# --------------------------------------------------------------------------- executors
EXECUTOR = """
name: ex
seed: 5
min_time: 0
sweep: {n: [3, 5, 7]}
steps:
  - {name: boxes, op: data.random_boxes, params: {n: "${n}", seed: "${seed}"}}
  - {name: iou, op: detection.box_iou, params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}}
  - {name: c, compare: [t.exact, t.wrong_float], params: {n: "${n}", seed: "${seed}"}}
"""


def _comparable(records):
    return [(r["point_index"], r["step"], r["op"], r["status"], r["seed"], r["outputs"], r["metrics"],
             (r["agreement"] or {}).get("max_abs_diff")) for r in records]


@pytest.mark.parametrize("executor", ["process", "dask", "dask-address"])
def test_parallel_executor_equals_serial(env, executor):
    setting = f"{{type: {executor}, workers: {2 if executor == 'process' else 1}}}"
    if executor.startswith("dask"):
        distributed = pytest.importorskip("dask.distributed")
    if executor == "dask-address":  # a scheduler the runner connects to rather than starts
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)
        setting, executor = f"{{type: dask, address: '{cluster.scheduler_address}'}}", "dask"
    cfg = config("e.yaml", EXECUTOR)
    assert shouxie("run", cfg, "--out", "serial", "--quiet") == 1  # the compare step mismatches
    try:
        assert shouxie("run", cfg, "--out", executor, "--quiet", "-s", f"executor={setting}") == 1
    finally:
        if "cluster" in locals():
            cluster.close()
    serial, parallel = records_of(run_dirs("serial")[0]), records_of(run_dirs(executor)[0])
    assert len(serial) == 12
    assert _comparable(parallel) == _comparable(serial)
    assert {r["executor"] for r in parallel} == {executor}
    # the driver alone wrote the index
    db = sqlite3.connect(Path(executor) / "index.sqlite")
    assert db.execute("SELECT COUNT(*) FROM records").fetchone() == (12,)



# --------------------------------------------------------------------------- hostile input
@pytest.mark.parametrize("name", ["../escape", "/tmp/shouxie-escape", "a/../../escape", "..", ".hidden",
                                  "x" * 101])
def test_a_run_name_cannot_write_outside_out(env, capsys, name):
    Path("work").mkdir()
    bad = config("bad.yaml", f"name: {json.dumps(name)}\nsteps:\n  - {{name: a, op: t.quick}}\n")
    assert shouxie("run", bad, "--out", "work/out") == 4
    assert "bad.yaml:2: name: expected a name of letters" in capsys.readouterr().err
    good = config("good.yaml", "name: fine\nsteps:\n  - {name: a, op: t.quick}\n")
    assert shouxie("run", good, "--out", "work/out", "-s", f"name={name}") == 4
    assert f"command line (-s name={name}): name: expected a name" in capsys.readouterr().err
    assert list(Path("work").iterdir()) == [] and not Path("/tmp/shouxie-escape").exists()


@pytest.mark.parametrize("step", ["../escape", "/tmp/shouxie-escape", "a/b", "a.b", ""])
def test_a_step_name_is_no_path(env, capsys, step):
    cfg = config("s.yaml", f"name: s\nsteps:\n  - {{name: {json.dumps(step)}, op: t.quick}}\n")
    assert shouxie("run", cfg, "--out", "work/out") == 4
    assert "steps[0].name: a step name is an identifier" in capsys.readouterr().err
    assert not Path("work").exists() and not Path("/tmp/shouxie-escape").exists()


BOMB = "".join([f"{a}: &{a} [{', '.join([f'*{b}'] * 9)}]\n" for a, b in zip("bcdefghi", "abcdefgh")])


@pytest.mark.parametrize("text, message", [
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + BOMB + "name: bomb\nsteps: [*i]\n",  # 9^9 values
     "expands to more than 100,000 values"),
    ("name: loop\nsteps: &s [*s]\n", "refers to a node that contains it"),
    ("name: deep\nsteps: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than 64 levels"),
    ("name: deep\nsteps:\n" + "".join("  " * i + "- \n" for i in range(1, 80)), "nests deeper than 64"),
    ("a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 2000))  # deep by aliases
     + "name: deep\nsteps: [*a1999]\n", "nests deeper than 64 levels"),
])
def test_alias_bombs_and_deep_nesting_are_refused_at_once(env, capsys, text, message):
    Path("y.yaml").write_text(text)
    start = time.perf_counter()
    assert shouxie("run", "y.yaml", "--out", "out") == 4
    assert message in capsys.readouterr().err
    assert time.perf_counter() - start < 10 and not Path("out").exists()


def test_an_alias_bomb_on_the_command_line_is_refused(env, capsys):
    cfg = config("c.yaml", "name: c\nsteps:\n  - {name: a, op: t.quick}\n")
    bomb = "{a: &a [x, x, x, x, x, x, x, x, x], " + BOMB.replace("\n", ", ")[:-2] + "}"
    assert shouxie("run", cfg, "--out", "out", "-s", f"steps.a.params.k={bomb}") == 4
    assert "expands to more than 100,000 values" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--sweep", "a=" + ",".join(map(str, range(1000))), "--sweep", "b=" + ",".join(map(str, range(1000)))],
     "the sweep has 1,000,000 points (a: 1,000 x b: 1,000); a run has at most 100,000"),
    (["-s", "zip={z: [1, 2, 3]}", "--sweep", "a=" + ",".join(map(str, range(400))),
      "--sweep", "b=" + ",".join(map(str, range(100)))], "the sweep has 120,000 points (a: 400 x b: 100 x zip: 3)"),
])
def test_a_huge_sweep_is_refused_before_anything_runs(env, capsys, args, message):
    cfg = config("h.yaml", "name: huge\nsteps:\n  - {name: a, op: t.quick}\n")
    for dry in ([], ["--dry-run"]):
        start = time.perf_counter()
        assert shouxie("run", cfg, "--out", "out", *args, *dry) == 4
        assert message in capsys.readouterr().err
        assert time.perf_counter() - start < 10 and not Path("out").exists()


def _index(out):
    db = sqlite3.connect(Path(out) / "index.sqlite")
    runs = db.execute("SELECT run_id, status, n_records, total, dir FROM runs ORDER BY run_id").fetchall()
    rows = dict(db.execute("SELECT run_id, COUNT(*) FROM records GROUP BY run_id").fetchall())
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    return runs, rows


def _cli(*args):
    """``shouxie ARGS`` in a real process, started now."""
    return subprocess.Popen([sys.executable, str(ROOT / "runner.py"), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def chained(path, name, points, first):
    """A config of ``points`` points, each running step ``a`` (``first``), then t.quick on its output."""
    return config(path, f"""
        name: {name}
        min_time: 0
        sweep: {{k: {list(range(points))}}}
        steps:
          - {{name: a, {first}}}
          - {{name: b, op: t.quick, params: {{k: "@a"}}}}
    """)


def test_concurrent_runs_into_one_out_keep_the_index_consistent(env):
    cfg = chained("c.yaml", "busy", 50, 'op: t.quick, params: {k: "${k}"}')
    procs = [_cli("run", cfg, "--out", "out", "--quiet") for _ in range(2)]
    readers = 0
    while any(p.poll() is None for p in procs):  # `shouxie runs list` reads while they write
        assert shouxie("runs", "list", "--out", "out") in (0, 4)  # 4: no index yet
        readers += 1
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    runs, rows = _index("out")
    assert len(runs) == 2 and readers > 0
    for run_id, status, n_records, total, run_dir in runs:
        lines = records_of(run_dir)
        assert status == "finished" and n_records == total == rows[run_id] == len(lines) == 100
        assert len({(r["point_index"], r["step"]) for r in lines}) == 100


def _comparable_records(records):
    return sorted((r["point_index"], r["step"], r["op"], r["status"], r["seed"], r["outputs"], r["metrics"])
                  for r in records)


def test_sigkill_then_resume_loses_and_duplicates_nothing(env):
    cfg = chained("k.yaml", "killed", 40, 'op: t.sleep, params: {seconds: 0.02, k: "${k}"}')
    assert shouxie("run", cfg, "--out", "whole", "--quiet") == 0
    whole = records_of(run_dirs("whole")[0])
    kept = []
    for kill_after in (6, 30):  # kill -9 twice, resuming in between, then resume to the end
        args = ("run", cfg) if not kept else ("run", "--resume", run_dirs("out")[0])
        proc = _cli(*args, "--out", "out", "--quiet")
        deadline = time.time() + 60
        while time.time() < deadline:
            results = run_dirs("out")[0] / "results.jsonl" if Path("out").exists() and run_dirs("out") else None
            if results and results.exists() and len(results.read_text().splitlines()) >= kill_after:
                break
            time.sleep(0.01)
        proc.kill()  # SIGKILL: no handler runs
        proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        run_dir = run_dirs("out")[0]
        lines = (run_dir / "results.jsonl").read_text().splitlines()
        assert kill_after <= len(lines) < 80
        done = [json.loads(line) for line in lines if line.endswith("}")]
        assert done[:len(kept)] == kept  # what was on disk before the kill is still there
        kept = [r for r in done if r["status"] == "ok"]
    assert shouxie("run", "--resume", run_dir, "--quiet") == 0
    records = records_of(run_dir)
    assert records[:len(kept)] == kept
    assert len(records) == 80 and len({(r["point_index"], r["step"]) for r in records}) == 80
    assert _comparable_records(records) == _comparable_records(whole)
    assert run_dirs("out") == [run_dir]
    runs, rows = _index("out")
    assert [(status, n, total) for _, status, n, total, _ in runs] == [("finished", 80, 80)]
    assert rows[runs[0][0]] == 80


def test_resume_refuses_a_results_file_it_did_not_write_and_leaves_it_alone(env, capsys):
    cfg = chained("r.yaml", "refuse", 3, 'op: t.quick, params: {k: "${k}"}')
    assert shouxie("run", cfg, "--out", "out", "--quiet") == 0
    results = run_dirs("out")[0] / "results.jsonl"
    lines = results.read_text().splitlines()
    for bad, message in (("{not json", "line 2 is not valid JSON"), ('{"step": "a"}', "line 2: not a record")):
        text = "\n".join([lines[0], bad, *lines[1:]]) + "\n"
        results.write_text(text)
        assert shouxie("run", "--resume", results.parent, "--quiet") == 4
        assert message in capsys.readouterr().err
        assert results.read_text() == text
