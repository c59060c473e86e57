import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shouxie.core import cpu_info
from shouxie.plugins import hookimpl
from shouxie.runner import ConfigError, main, run_config

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
name: iou-demo
seed: 7
repeat: 3
warmup: 1
sweep:
  n: [10, 20]
steps:
  - name: boxes
    op: data.random_boxes
    params: {n: "${n}", seed: 1}
  - name: iou
    op: detection.box_iou
    params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}
"""


def only_run_dir(out):
    dirs = [p for p in Path(out).glob("*/*") if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_run_directory_holds_config_env_and_records(write_config, tmp_path, pm):
    run = run_config(write_config(GOOD), out=tmp_path / "runs", pm=pm)
    run_dir = only_run_dir(tmp_path / "runs")
    assert run_dir == run.dir and run_dir.parent.name == "iou-demo"
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["repeat"] == 3 and saved["sweep"] == {"n": [10, 20]} and saved["steps"][1]["op"] == "detection.box_iou"
    env = json.loads((run_dir / "env.json").read_text())
    assert {"python", "numpy", "shouxie", "cpu", "git_commit"} <= set(env)
    assert env["kernels"] == cpu_info()   # the compiled kernel variants the numbers came from
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4
    required = {"experiment", "run_id", "point", "step", "op", "plugin", "status", "error", "time_s",
                "outputs", "metrics"}
    for r in records:
        assert required <= set(r)
        assert r["status"] == "ok" and r["error"] is None and r["experiment"] == "iou-demo"
        assert r["time_s"]["repeat"] == 3
        assert r["time_s"]["min"] <= r["time_s"]["median"] <= r["time_s"]["max"]
    assert records[0]["point"] == {"n": 10} and records[2]["point"] == {"n": 20}
    assert records[1]["outputs"]["iou"] == {"shape": [10, 10], "dtype": "float32"}
    assert records[3]["outputs"]["iou"] == {"shape": [20, 20], "dtype": "float32"}
    assert 0 < records[1]["metrics"]["mean_iou"] <= 1


def test_sweep_value_keeps_its_type(write_config, tmp_path, pm):
    seen = []

    class Probe:
        @hookimpl
        def shouxie_register_ops(self, registry):
            def probe(value, text):
                """Record what it was given."""
                seen.append((value, text))
                return 0
            registry.add("test.probe", probe)

    pm.register(Probe())
    cfg = write_config("""
        name: types
        min_time: 0     # one call per sample: the probe sees each value once
        sweep: {v: [3, 0.5, "a"]}
        steps:
          - {name: p, op: test.probe, params: {value: "${v}", text: "v=${v}"}}
    """)
    run_config(cfg, out=tmp_path, pm=pm)
    assert seen == [(3, "v=3"), (0.5, "v=0.5"), ("a", "v=a")]
    assert type(seen[0][0]) is int


def test_failing_step_is_an_error_record_and_dependents_are_skipped(write_config, tmp_path, pm):
    cfg = write_config("""
        name: fails
        steps:
          - {name: iou, op: detection.box_iou, params: {boxes1: [[2, 0, 1, 1]], boxes2: [[0, 0, 1, 1]]}}
          - {name: again, op: detection.box_iou, params: {boxes1: "@iou.iou", boxes2: "@iou.iou"}}
          - {name: boxes, op: data.random_boxes, params: {n: 3}}
    """)
    run = run_config(cfg, out=tmp_path, pm=pm)
    assert [r["status"] for r in run.records] == ["error", "skipped", "ok"]
    assert "x2 < x1" in run.records[0]["error"]
    assert main(["run", str(cfg), "--out", str(tmp_path)]) == 1


def test_missing_output_field_is_an_error_record(write_config, tmp_path, pm):
    cfg = write_config("""
        name: nofield
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: 3}}
          - {name: iou, op: detection.box_iou, params: {boxes1: "@boxes.bxes", boxes2: "@boxes.boxes"}}
    """)
    run = run_config(cfg, out=tmp_path, pm=pm)
    assert run.records[1]["status"] == "error"
    assert "has no output 'bxes'" in run.records[1]["error"]


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("name: x\n", "missing required key 'steps'", None),
        ("name: x\nsteps: []\n", "steps: expected a non-empty list of steps", 2),
        ("name: x\nstep:\n  - {name: a, op: data.random_boxes}\n", "unknown key 'step' (did you mean 'steps'?)", 2),
        ("name: x\nsteps:\n  - name: a\n    op: detection.boxiou\n",
         "steps[0].op: unknown op 'detection.boxiou' (did you mean 'detection.box_iou'?)", 4),
        ("name: x\nsteps:\n  - name: a\n    op: detection.box_iou\n    params:\n      boxes1: '@nothing.boxes'\n"
         "      boxes2: '@nothing'\n", "steps[0].params.boxes1: reference '@nothing.boxes' names no earlier step", 6),
        ("name: x\nsteps:\n  - {name: a, op: data.random_boxes, params: {n: 3}}\n"
         "  - {name: b, op: detection.box_iou, params: {boxes1: '@a.boxes', boxes2: '@b.boxes'}}\n",
         "reference '@b.boxes' names no earlier step; earlier steps: a", 4),
        ("name: x\nsteps:\n  - {name: boxes, op: data.random_boxes, params: {n: 3}}\n"
         "  - {name: b, op: detection.box_iou, params: {boxes1: '@boxs.boxes', boxes2: '@boxes.boxes'}}\n",
         "reference '@boxs.boxes' names no earlier step (did you mean '@boxes'?)", 4),
        ("name: x\nsweep: {size: [1]}\nsteps:\n  - name: a\n    op: data.random_boxes\n    params: {n: '${sise}'}\n",
         "unknown sweep variable '${sise}' (did you mean '${size}'?)", 6),
        ("name: x\nsteps:\n  - {name: a, op: data.random_boxes, params: {count: 3}}\n",
         "op 'data.random_boxes': got an unexpected keyword argument 'count'", 3),
        ("name: x\nsteps:\n  - {name: a, op: detection.box_iou, params: {}}\n", "missing a required argument", 3),
        ("name: x\nrepeat: 0\nsteps:\n  - {name: a, op: data.random_boxes}\n", "repeat: expected an integer >= 1", 2),
        ("name: x\nsweep: {n: []}\nsteps:\n  - {name: a, op: data.random_boxes}\n", "sweep.n: expected a non-empty list", 2),
        ("name: x\nsteps:\n  - {name: a, op: data.random_boxes}\n  - {name: a, op: data.random_boxes}\n",
         "duplicate step name 'a'", 4),
        ("name: x\nsteps: [\n", "invalid YAML", None),
        ("- just\n- a list\n", "a config is a mapping", None),
    ],
)
def test_config_errors_name_key_and_line(write_config, tmp_path, pm, text, message, line):
    cfg = write_config(text)
    with pytest.raises(ConfigError) as info:
        run_config(cfg, out=tmp_path, pm=pm)
    assert message in str(info.value)
    assert str(info.value).startswith(str(cfg))
    if line is not None:
        assert info.value.line == line
    assert not list(tmp_path.glob("x/*")), "a config error must not create a run directory"


def test_cli_config_error_exit_code(write_config, tmp_path, capsys):
    cfg = write_config("name: x\nsteps:\n  - {name: a, op: nope.op}\n")
    assert main(["run", str(cfg), "--out", str(tmp_path)]) == 4
    assert "unknown op 'nope.op'" in capsys.readouterr().err


def test_cli_ops_lists_name_plugin_summary(capsys):
    assert main(["ops"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("detection.box_iou"))
    assert "shouxie.plugins.detection" in line and "Pairwise IoU" in line
    assert main(["ops", "--json"]) == 0
    ops = json.loads(capsys.readouterr().out)
    assert {"name": "data.random_boxes"}.items() <= next(o for o in ops if o["name"] == "data.random_boxes").items()


def test_runner_script_and_console_script_run_quickstart(tmp_path):
    console_script = str(Path(sys.executable).parent / "shouxie")
    for cmd in ([sys.executable, str(ROOT / "runner.py")], [console_script, "run"]):
        out = tmp_path / cmd[0].replace("/", "_")
        proc = subprocess.run([*cmd, str(ROOT / "configs" / "quickstart.yaml"), "--out", str(out)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "quickstart" in proc.stdout
        records = (only_run_dir(out) / "results.jsonl").read_text().splitlines()
        assert records and all(json.loads(r)["status"] == "ok" for r in records)


#: The optional packages shouxie uses when present (extras and references).
OPTIONAL = ["PIL", "torch", "torchvision", "cv2", "scipy", "sklearn", "matplotlib", "dask", "distributed",
            "threadpoolctl", "bitarray", "pycocotools", "faster_coco_eval", "ensemble_boxes"]


def test_quickstart_needs_only_the_core_dependencies(tmp_path):
    # the README's first command is `pip install . && shouxie run configs/quickstart.yaml`: every
    # step must succeed with no extra installed (each optional package made unimportable)
    code = ("import sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); "
            "from shouxie.runner import main; sys.exit(main(['run', sys.argv[2], '--out', sys.argv[3], '-q']))")
    proc = subprocess.run([sys.executable, "-c", code, ",".join(OPTIONAL), str(ROOT / "configs" / "quickstart.yaml"),
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    records = [json.loads(r) for r in (only_run_dir(tmp_path) / "results.jsonl").read_text().splitlines()]
    assert proc.returncode == 0, [(r["step"], r["error"]) for r in records if r["status"] != "ok"]
    assert records and all(r["status"] == "ok" for r in records)


def test_same_seed_same_outputs(write_config, tmp_path, pm):
    cfg = write_config(GOOD)
    a = run_config(cfg, out=tmp_path / "a", pm=pm)
    b = run_config(cfg, out=tmp_path / "b", pm=pm)
    assert [r["metrics"] for r in a.records] == [r["metrics"] for r in b.records]
    assert [r["seed"] for r in a.records] == [r["seed"] for r in b.records]


def test_seed_and_run_dir_variables_and_reproducible_seeds(write_config, tmp_path, pm):
    seen = []

    class Probe:
        @hookimpl
        def shouxie_register_ops(self, registry):
            registry.add("test.where", lambda path, seed: seen.append((path, seed)) or seed, summary="probe")

    pm.register(Probe())
    cfg = write_config("""
        name: where
        seed: 3
        min_time: 0
        sweep: {k: [1, 2]}
        steps:
          - {name: w, op: test.where, params: {path: "${run_dir}/out.png", seed: "${seed}"}}
    """)
    run = run_config(cfg, out=tmp_path / "a", pm=pm)
    assert [p for p, _ in seen] == [f"{run.dir}/out.png"] * 2
    assert seen[0][1] != seen[1][1] and [s for _, s in seen] == [r["seed"] for r in run.records]
    again = run_config(cfg, out=tmp_path / "b", pm=pm)  # the same config and seed: the same seeds
    assert [r["seed"] for r in again.records] == [r["seed"] for r in run.records]
    other = run_config(cfg, out=tmp_path / "c", pm=pm, overrides=["seed=12"])
    assert [r["metrics"] for r in other.records] != [r["metrics"] for r in run.records]
    bad = write_config("name: x\nsweep: {seed: [1]}\nsteps:\n  - {name: a, op: data.random_boxes}\n")
    with pytest.raises(ConfigError, match="'seed' is reserved"):
        run_config(bad, out=tmp_path, pm=pm)
