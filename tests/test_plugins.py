import pytest

from shouxie.plugins import BUILTIN_PLUGINS, DuplicateOpError, collect_ops, get_plugin_manager, hookimpl
from shouxie.plugins import hookspecs
from shouxie.runner import run_config


class ScalePlugin:
    """A plugin registered at runtime, as a third-party package would be."""

    @hookimpl
    def shouxie_register_ops(self, registry):
        def scale(x, factor=2.0):
            """Multiply x by factor."""
            return {"y": x * factor, "total": float(x * factor)}
        registry.add("test.scale", scale)


def test_builtin_ops_are_registered(pm):
    ops = {op.name: op for op in collect_ops(pm)}
    assert {"detection.box_iou", "data.random_boxes"} <= set(ops)
    assert ops["detection.box_iou"].plugin == "shouxie.plugins.detection"
    assert ops["detection.box_iou"].summary.startswith("Pairwise IoU")
    assert "boxes1" in ops["detection.box_iou"].signature.parameters


def test_runtime_plugin_op_runs_from_yaml(pm, write_config, tmp_path):
    plugin = ScalePlugin()
    pm.register(plugin, name="scale-plugin")
    try:
        assert collect_ops(pm).get("test.scale").plugin == "scale-plugin"
        cfg = write_config("""
            name: scale
            sweep: {x: [1, 3]}
            steps:
              - {name: s, op: test.scale, params: {x: "${x}", factor: 10}}
        """)
        run = run_config(cfg, out=tmp_path / "runs", pm=pm)
    finally:
        pm.unregister(plugin)
    assert [r["metrics"]["total"] for r in run.records] == [10.0, 30.0]
    assert all(r["plugin"] == "scale-plugin" for r in run.records)


def test_duplicate_op_name_names_both_plugins(pm):
    class Clash:
        @hookimpl
        def shouxie_register_ops(self, registry):
            registry.add("detection.box_iou", lambda: None)
    pm.register(Clash(), name="clash")
    with pytest.raises(DuplicateOpError, match="'shouxie.plugins.detection' and plugin 'clash'"):
        collect_ops(pm)


@pytest.mark.parametrize("name", ["Box", "box", "detection.", "detection.Box-IoU", "a..b", 3])
def test_bad_op_names_are_rejected(pm, name):
    class Bad:
        @hookimpl
        def shouxie_register_ops(self, registry):
            registry.add(name, lambda: None)
    pm.register(Bad(), name="bad")
    with pytest.raises(ValueError, match="must look like 'family.op'"):
        collect_ops(pm)


def test_unknown_op_did_you_mean(pm):
    with pytest.raises(KeyError, match="did you mean 'detection.box_iou'"):
        collect_ops(pm).get("detection.boxiou")


def test_builtins_are_registered_by_module_name(pm):
    assert [pm.get_name(p) for p in pm.get_plugins() if pm.get_name(p) in BUILTIN_PLUGINS]
    assert set(BUILTIN_PLUGINS) <= {pm.get_name(p) for p in pm.get_plugins()}


def test_autoload_can_be_disabled(monkeypatch):
    calls = []
    monkeypatch.setattr("shouxie.plugins.manager.load_entrypoint_plugins",
                        lambda pm: calls.append(pm) or 0)
    get_plugin_manager()
    assert len(calls) == 1
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    get_plugin_manager()
    get_plugin_manager(load_entrypoints=False)
    assert len(calls) == 1


def test_every_hook_is_documented_and_typed():
    specs = [getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("shouxie_")]
    assert len(specs) >= 4
    for spec in specs:
        assert spec.__doc__ and spec.__doc__.strip(), spec.__name__
        assert "return" in spec.__annotations__, spec.__name__


def test_observers_see_every_record(pm, write_config, tmp_path):
    seen = {"started": 0, "records": [], "finished": None}

    class Observer:
        @hookimpl
        def shouxie_run_started(self, run):
            seen["started"] += 1

        @hookimpl
        def shouxie_record(self, record):
            seen["records"].append(record["step"])

        @hookimpl
        def shouxie_run_finished(self, run, summary):
            seen["finished"] = summary

    pm.register(Observer())
    cfg = write_config("""
        name: observed
        sweep: {n: [5, 6]}
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: "${n}"}}
          - {name: iou, op: detection.box_iou, params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}}
    """)
    run_config(cfg, out=tmp_path / "runs", pm=pm)
    assert seen["started"] == 1
    assert seen["records"] == ["boxes", "iou", "boxes", "iou"]
    assert seen["finished"]["counts"] == {"ok": 4, "mismatch": 0, "error": 0, "skipped": 0}


def test_load_plugins_by_module_path(pm, tmp_path, monkeypatch):
    (tmp_path / "extra_plugin_mod.py").write_text(
        "from shouxie.plugins import hookimpl\n"
        "@hookimpl\n"
        "def shouxie_register_ops(registry):\n"
        "    registry.add('extra.one', lambda: 1, summary='one')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from shouxie.plugins.manager import load_plugins
    load_plugins(pm, ["extra_plugin_mod"])
    load_plugins(pm, ["extra_plugin_mod"])  # idempotent
    assert collect_ops(pm).get("extra.one").plugin == "extra_plugin_mod"


def test_require_names_what_needs_a_missing_library(monkeypatch):
    from shouxie.plugins._optional import require
    assert require("json.decoder", needed_by="x", install="y").__name__ == "json.decoder"
    with pytest.raises(ImportError, match=r"^ref.thing needs nosuchlib_xyz: pip install nosuchlib-xyz$"):
        require("nosuchlib_xyz.sub", needed_by="ref.thing", install="pip install nosuchlib-xyz")
    monkeypatch.setitem(__import__("sys").modules, "json", None)  # package gone, submodule cached
    with pytest.raises(ImportError, match="needs json"):
        require("json.decoder", needed_by="x", install="y")
