"""tools/compare_builds.py: another build's kernels bound in for a call, and the twinned run."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import shouxie.core as core
from shouxie import runner
from shouxie.core import median


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("compare_builds")


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """A copy of this install's compiled modules: another build, as far as the loader can tell."""
    folder = tmp_path_factory.mktemp("other") / "core"
    folder.mkdir()
    installed = Path(core.__file__).parent
    for path in [*installed.glob("*.so"), installed / "_variants.py"]:
        shutil.copy(path, folder)
    return folder


@pytest.fixture(scope="module")
def builds(tool, other):
    return tool.Builds(other)


def test_twin_steps_doubles_shouxie_ops_and_drops_their_references(tool):
    steps = [{"name": "img", "op": "data.noise_image"},
             {"name": "one", "op": "image.median_filter", "params": {"image": "@img"}},
             {"name": "two", "compare": ["ref.cv2_median_blur", "image.median_filter"]},
             {"name": "refs", "compare": ["ref.a", "ref.b"]}]
    assert tool.twin_steps(steps) == {"image.median_filter"}
    assert steps[0] == {"name": "img", "op": "data.noise_image"}
    assert steps[1] == {"name": "one", "compare": ["this.image.median_filter", "other.image.median_filter"],
                        "params": {"image": "@img"}}
    assert steps[2]["compare"] == ["this.image.median_filter", "other.image.median_filter"]
    assert steps[3]["compare"] == ["ref.a", "ref.b"]


def test_the_other_build_can_go_first(tool):
    steps = [{"name": "one", "op": "image.median_filter"}]
    assert tool.twin_steps(steps, first="other") == {"image.median_filter"}
    assert steps[0]["compare"] == ["other.image.median_filter", "this.image.median_filter"]


def test_the_other_builds_kernels_are_bound_for_the_call_only(builds, other):
    mine = median._median_network
    assert Path(mine.__file__).parent != other
    with builds.bound(True):
        assert Path(median._median_network.__file__).parent == other
        assert Path(core.median._median_sliding.__file__).parent == other
        assert median._median_network is not mine
    assert median._median_network is mine
    with pytest.raises(RuntimeError), builds.bound(True):
        raise RuntimeError("an op's failure")
    assert median._median_network is mine   # restored however the call ended
    # every family and every module compiled once has a counterpart
    bound = {Path(theirs.__file__).name.split(".")[0] for *_, theirs in builds.bindings}
    families = set(core.cpu_info()["families"])
    assert {name.rsplit("_", 1)[0] for name in bound if name.rsplit("_", 1)[0] in families} == families
    assert {"_conv", "_coco", "_wbf"} <= bound


def test_both_builds_give_the_same_median(builds):
    image = np.random.default_rng(0).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    func = builds.op(core.median_filter, True)
    np.testing.assert_array_equal(func(image=image, ksize=5), core.median_filter(image, 5))


def test_a_lower_level_of_the_other_build(tool, other):
    levels = core.cpu_info()["levels"]
    if len(levels) < 2:
        pytest.skip("this build has one CPU level")
    builds = tool.Builds(other, levels[0])
    with builds.bound(True):
        assert Path(median._median_network.__file__).name.startswith(f"_median_network_{levels[0]}.")
    image = np.random.default_rng(1).random((30, 50), dtype=np.float32)
    np.testing.assert_array_equal(builds.op(core.median_filter, True)(image=image, ksize=3),
                                  core.median_filter(image, 3))


def test_a_folder_that_is_not_a_build_is_refused(tool, tmp_path, capsys):
    assert tool.main([str(tmp_path), "x.yaml"]) == runner.EXIT_USAGE
    assert "no _variants.py" in capsys.readouterr().err
    (tmp_path / "_variants.py").write_text((Path(core.__file__).parent / "_variants.py").read_text())
    with pytest.raises(FileNotFoundError, match=r"has no _\w+\.\*\.so"):
        tool.Builds(tmp_path)


def test_a_config_runs_with_both_builds_in_turns(tool, other, tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text("""
name: tiny
repeat: 3
warmup: 0
min_time: 0
sweep:
  k: [3, 5]
steps:
  - name: img
    op: data.noise_image
    params: {height: 24, width: 40, channels: 3, dtype: uint8, seed: 0}
  - name: med
    op: image.median_filter
    params: {image: "@img", ksize: "${k}"}
  - name: boxes
    op: data.random_boxes
    params: {n: 50, seed: 0}
  - name: keep
    op: detection.nms
    params: {boxes: "@boxes.boxes", scores: "@boxes.scores", iou_threshold: 0.5}
""")
    assert tool.main([str(other), str(config), "--out", str(tmp_path / "runs"), "-q", "--rounds", "2"]) == 0
    shown = capsys.readouterr().out
    # a row per step and sweep point
    assert "| med (k=3) | `image.median_filter` |" in shown and "| med (k=5) | `image.median_filter` |" in shown
    assert "| keep (k=5) | `detection.nms` |" in shown
    assert "tiny: 2 round(s)" in shown and "4 ops: geometric mean" in shown
    runs = list((tmp_path / "runs" / "tiny").glob("*/results.jsonl"))
    firsts = set()   # the build whose twin went first (the steps' baseline), per round
    for results in runs:
        records = [json.loads(line) for line in results.read_text().splitlines()]
        ops = {(r["step"], r["op"], r["point"]["k"]): r for r in records}
        assert {(step, op) for step, op, _ in ops} == {
            ("img", "data.noise_image"), ("boxes", "data.random_boxes"),
            ("med", "this.image.median_filter"), ("med", "other.image.median_filter"),
            ("keep", "this.detection.nms"), ("keep", "other.detection.nms")}
        baselines = {r["baseline"].split(".")[0] for r in records if r["baseline"]}
        assert len(baselines) == 1
        firsts |= baselines
        for r in records:
            if r["baseline"] and r["baseline"] != r["op"]:   # the second twin, checked against the first
                assert r["status"] == "ok" and r["agreement"]["ok"] and r["time_s"]["repeat"] == 3
    assert len(runs) == 2 and firsts == {"this", "other"}


def test_rounds_in_fresh_processes_are_pooled(tool, other, tmp_path, capsys):
    config = tmp_path / "small.yaml"
    config.write_text("name: small\nrepeat: 2\nwarmup: 0\nsteps:\n"
                      "  - {name: boxes, op: data.random_boxes, params: {n: 30, seed: 0}}\n"
                      "  - {name: iou, op: detection.box_iou, params: {boxes1: '@boxes.boxes', boxes2: '@boxes.boxes'}}\n")
    out = tmp_path / "runs"
    assert tool.main([str(other), str(config), "--out", str(out), "-q", "--processes", "2", "--rounds", "2"]) == 0
    shown = capsys.readouterr().out
    assert "small: 4 round(s)" in shown and "| iou | `detection.box_iou` |" in shown
    # each process wrote its rounds under a folder of its own
    processes = sorted(path.name.split("-")[0] for path in out.iterdir())
    assert processes == ["process0", "process1"]
    assert len(list(out.glob("process*/small/*/results.jsonl"))) == 4


def test_the_first_build_alternates_across_processes(tool, other, tmp_path):
    config = tmp_path / "one.yaml"
    config.write_text("name: one\nrepeat: 2\nwarmup: 0\nsteps:\n"
                      "  - {name: boxes, op: data.random_boxes, params: {n: 30, seed: 0}}\n"
                      "  - {name: keep, op: detection.nms, params: {boxes: '@boxes.boxes', "
                      "scores: '@boxes.scores', iou_threshold: 0.5}}\n")
    out = tmp_path / "runs"
    # one round per process: each process's round must not start with the same build
    assert tool.main([str(other), str(config), "--out", str(out), "-q", "--processes", "2"]) == 0
    firsts = sorted(json.loads(line)["baseline"].split(".")[0]
                    for results in out.glob("process*/one/*/results.jsonl")
                    for line in results.read_text().splitlines() if json.loads(line)["baseline"])
    assert firsts == ["other", "other", "this", "this"]   # both twins of a step name its baseline


def test_a_process_that_fails_fails_the_comparison(tool, other, tmp_path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_text("name: broken\nsteps: 3\n")
    assert tool.main([str(other), str(config), "--out", str(tmp_path / "runs"), "--processes", "2"]) == runner.EXIT_USAGE


def test_a_plugin_that_cannot_load_is_named_at_its_place(tool, other, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("name: bad\nplugins: [no_such_module_xyz]\nsteps:\n"
                      "  - {name: img, op: data.noise_image, params: {height: 4, width: 4}}\n")
    assert tool.main([str(other), str(config), "--out", str(tmp_path / "runs"), "-q"]) == runner.EXIT_USAGE
    err = capsys.readouterr().err
    assert "plugins[0]" in err and "cannot load plugin 'no_such_module_xyz'" in err
