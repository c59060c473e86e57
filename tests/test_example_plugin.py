"""The example third-party plugin (examples/shouxie-example-plugin), installed with pip as a user
would: discovered through its entry point, listed, used from YAML, observing every record.

CI installs it (`.ci/run`); without it these tests skip."""
import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("shouxie_example_plugin")

from shouxie import core  # noqa: E402,F401  (an editable install rebuilds on import: not under capsys)
from shouxie.plugins import collect_ops, get_plugin_manager  # noqa: E402
from shouxie.plugins.manager import load_plugins  # noqa: E402
from shouxie.runner import main, run_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "examples" / "shouxie-example-plugin" / "blur.yaml"
EXAMPLE_OPS = {"example.gaussian_blur", "example.box_areas", "example.noisy_image"}


def listed_ops(capsys):
    assert main(["ops", "--json"]) == 0
    return {op["name"]: op for op in json.loads(capsys.readouterr().out)}


def test_its_ops_appear_in_shouxie_ops_with_the_plugin_name(capsys):
    ops = listed_ops(capsys)
    assert EXAMPLE_OPS <= set(ops)
    assert {ops[name]["plugin"] for name in EXAMPLE_OPS} == {"example"}
    assert ops["example.gaussian_blur"]["summary"].startswith("Gaussian blur")
    assert "detection.box_iou" in ops


def test_a_yaml_config_uses_its_ops_and_its_observer_sees_every_record(tmp_path):
    run = run_config(CONFIG, out=tmp_path / "runs")
    assert len(run.records) == 8 and all(r["status"] == "ok" for r in run.records)
    assert {r["plugin"] for r in run.records if r["op"].startswith("example.")} == {"example"}
    blurred = next(r for r in run.records if r["step"] == "blur")
    assert blurred["outputs"]["value"] == {"shape": [64, 96], "dtype": "float32"}
    with open(run.dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["step"], r["status"], r["run_id"]) for r in rows] == \
        [(r["step"], r["status"], run.run_id) for r in run.records]
    areas = [r for r in rows if r["step"] == "areas"]
    assert [json.loads(r["metrics"])["mean_area"] for r in areas] == \
        [r["metrics"]["mean_area"] for r in run.records if r["step"] == "areas"]


def test_disabling_autoload_leaves_it_out(monkeypatch, capsys):
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert not EXAMPLE_OPS & set(listed_ops(capsys))
    assert not get_plugin_manager().has_plugin("example")


def test_naming_it_loads_it_explicitly_when_autoload_is_off(monkeypatch):
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    load_plugins(pm, ["example"])
    assert pm.distributions["example"].name == "shouxie-example-plugin"
    assert EXAMPLE_OPS <= {op.name for op in collect_ops(pm)}


def test_p_name_loads_it_when_autoload_is_off(monkeypatch, write_config, tmp_path):
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    cfg = write_config("""
        name: by-option
        steps:
          - {name: image, op: example.noisy_image, params: {height: 4, width: 5}}
    """)
    assert main(["run", str(cfg), "--out", str(tmp_path / "runs"), "-p", "example"]) == 0
    (results,) = (tmp_path / "runs" / "by-option").glob("*/results.jsonl")
    assert [json.loads(line)["plugin"] for line in results.read_text().splitlines()] == ["example"]


def test_a_configs_plugins_key_loads_it_when_autoload_is_off(monkeypatch, write_config, tmp_path):
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    cfg = write_config("""
        name: explicit
        plugins: [example]
        steps:
          - {name: image, op: example.noisy_image, params: {height: 4, width: 5}}
    """)
    run = run_config(cfg, out=tmp_path / "runs")
    assert [(r["plugin"], r["status"]) for r in run.records] == [("example", "ok")]
    assert (run.dir / "results.csv").exists()


def test_shouxie_plugins_lists_it(capsys):
    assert main(["plugins", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == "example")
    assert row["status"] == "loaded" and row["distribution"] == "shouxie-example-plugin"
    assert row["version"] == "0.1.0" and set(row["ops"]) == EXAMPLE_OPS
    assert row["hooks"] == ["shouxie_record", "shouxie_register_ops", "shouxie_run_started"]
