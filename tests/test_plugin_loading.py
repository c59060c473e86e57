"""Third-party plugins that fail to import or register: a warning naming the distribution and the
error, everything else loads, and a config needing one of their ops is told why it is missing."""
import json
import sys
import textwrap

import pytest

from shouxie.core import cpu_info
from shouxie.plugins import collect_ops, get_plugin_manager
from shouxie.plugins.manager import PluginLoadError, PluginLoadWarning, load_plugins
from shouxie.runner import ConfigError, main, run_config


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Install fake distributions (a dist-info with an entry point, and its module) on sys.path."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(dist, entry_point, module, source):
        info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[shouxie]\n{entry_point} = {module}\n")
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.delitem(sys.modules, module, raising=False)
    return install


GOOD = """
    from shouxie.plugins import hookimpl

    def one():
        '''The number one.'''
        return 1

    @hookimpl
    def shouxie_register_ops(registry):
        registry.add("goodfam.one", one)
"""


def _load(pattern):
    with pytest.warns(PluginLoadWarning, match=pattern):
        return get_plugin_manager()


def test_plugin_failing_to_import_warns_and_the_rest_loads(site, write_config, tmp_path):
    site("good-plugin", "goodfam", "good_plugin_mod", GOOD)
    site("broken-plugin", "brokenfam", "broken_plugin_mod", "import no_such_module_for_shouxie_tests\n")
    pm = _load(r"plugin 'brokenfam' from distribution broken-plugin 1\.0 failed to import: "
               r"ModuleNotFoundError: No module named 'no_such_module_for_shouxie_tests'")
    assert pm.has_plugin("goodfam") and not pm.has_plugin("brokenfam")
    assert pm.distributions["goodfam"].name == "good-plugin"
    registry = collect_ops(pm)
    assert "goodfam.one" in registry and "detection.box_iou" in registry
    assert registry.missing_message("otherfam.op") == ("unknown op 'otherfam.op'; note: plugin 'brokenfam' from "
                                                       "distribution broken-plugin 1.0 failed to import: "
                                                       "ModuleNotFoundError: No module named "
                                                       "'no_such_module_for_shouxie_tests'")
    cfg = write_config("""
        name: needs-broken
        steps:
          - {name: a, op: brokenfam.anything}
    """)
    with pytest.raises(ConfigError, match=r"unknown op 'brokenfam.anything'; it is probably missing because "
                                          r"plugin 'brokenfam' from distribution broken-plugin 1\.0 failed "
                                          r"to import: ModuleNotFoundError"):
        run_config(cfg, out=tmp_path / "runs", pm=pm)


def test_plugin_whose_register_ops_raises_is_dropped_with_its_observers(site, write_config, tmp_path):
    site("raising-plugin", "raisefam", "raising_plugin_mod", """
        from shouxie.plugins import hookimpl

        @hookimpl
        def shouxie_register_ops(registry):
            registry.add("raisefam.fine", lambda: 1)
            raise RuntimeError("cannot find my model file")

        @hookimpl
        def shouxie_record(record):
            raise AssertionError("a dropped plugin must not observe")
    """)
    pm = get_plugin_manager()
    assert pm.has_plugin("raisefam")
    with pytest.warns(PluginLoadWarning, match=r"'raisefam' from distribution raising-plugin 1\.0 failed to "
                                               r"register its ops: RuntimeError: cannot find my model file"):
        registry = collect_ops(pm)
    assert "raisefam.fine" not in registry and not pm.has_plugin("raisefam")
    assert "failed to register its ops" in registry.missing_message("raisefam.fine")
    cfg = write_config("""
        name: still-runs
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: 3}}
    """)
    run = run_config(cfg, out=tmp_path / "runs", pm=pm)
    assert [r["status"] for r in run.records] == ["ok"]


def test_plugin_with_a_misspelled_hook_is_rejected_with_a_hint(site):
    site("typo-plugin", "typo", "typo_plugin_mod", """
        from shouxie.plugins import hookimpl

        @hookimpl
        def shouxie_recrod(record):
            pass
    """)
    site("good-plugin", "goodfam", "good_plugin_mod", GOOD)
    pm = _load(r"typo-plugin 1\.0 failed to register: .*unknown hook 'shouxie_recrod' "
               r"\(did you mean 'shouxie_record'\?\)")
    assert pm.has_plugin("goodfam") and not pm.has_plugin("typo")
    assert "goodfam.one" in collect_ops(pm)


def test_plugin_reusing_a_builtin_op_name_is_dropped_naming_both(site):
    site("clash-plugin", "clash", "clash_plugin_mod", """
        from shouxie.plugins import hookimpl

        @hookimpl
        def shouxie_register_ops(registry):
            registry.add("clash.mine", lambda: 0)
            registry.add("detection.box_iou", lambda: 0)
    """)
    pm = get_plugin_manager()
    with pytest.warns(PluginLoadWarning, match="'detection.box_iou' is registered by both plugin "
                                               "'shouxie.plugins.detection' and plugin 'clash'"):
        registry = collect_ops(pm)
    assert registry.get("detection.box_iou").plugin == "shouxie.plugins.detection"
    assert "clash.mine" not in registry  # a plugin's ops load all together or not at all


def test_explicitly_named_broken_plugin_is_an_error(site, monkeypatch):
    site("broken-plugin", "brokenfam", "broken_plugin_mod", "raise ValueError('bad config file')\n")
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    with pytest.raises(PluginLoadError, match=r"broken-plugin 1\.0 failed to import: ValueError: bad config"):
        load_plugins(pm, ["brokenfam"])
    with pytest.raises(PluginLoadError, match="no_such_plugin_module.*ModuleNotFoundError"):
        load_plugins(pm, ["no_such_plugin_module"])


def test_load_plugins_by_entry_point_records_its_distribution(site, monkeypatch):
    site("good-plugin", "goodfam", "good_plugin_mod", GOOD)
    monkeypatch.setenv("SHOUXIE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    assert not pm.has_plugin("goodfam")
    load_plugins(pm, ["goodfam"])
    assert str(pm.distributions["goodfam"]) == "good-plugin 1.0"
    assert collect_ops(pm).get("goodfam.one").plugin == "goodfam"


def test_shouxie_plugins_lists_loaded_and_failed_plugins(site, capsys):
    site("good-plugin", "goodfam", "good_plugin_mod", GOOD)
    site("broken-plugin", "brokenfam", "broken_plugin_mod", "import no_such_module_for_shouxie_tests\n")
    with pytest.warns(PluginLoadWarning):
        assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["goodfam"] == {"name": "goodfam", "status": "loaded", "distribution": "good-plugin",
                               "version": "1.0", "ops": ["goodfam.one"],
                               "hooks": ["shouxie_register_ops"], "error": None}
    assert rows["brokenfam"]["status"] == "failed" and "ModuleNotFoundError" in rows["brokenfam"]["error"]
    detection = rows["shouxie.plugins.detection"]
    assert detection["distribution"] == "shouxie" and "detection.box_iou" in detection["ops"]
    assert {"shouxie_record", "shouxie_run_started"} <= set(rows["shouxie.plugins.rundir"]["hooks"])
    assert "shouxie_register_commands" in rows["shouxie.plugins.listing"]["hooks"]
    with pytest.warns(PluginLoadWarning):
        assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    lines = {line.split()[0]: line for line in table.splitlines()}
    assert lines["plugin"].split() == ["plugin", "distribution", "hooks", "ops", "/", "error"]
    assert lines["goodfam"].split() == ["goodfam", "good-plugin", "1.0", "register_ops", "1:", "goodfam.one"]
    assert lines["brokenfam"].split()[:7] == ["brokenfam", "broken-plugin", "1.0", "-", "failed", "to", "import:"]
    families = cpu_info()["families"]   # the kernel variants, last
    listed = lines["kernels:"].removeprefix("kernels: ").split(" (")[0].split(", ")
    assert listed == [f"{family.lstrip('_')} {f['variant']}" for family, f in families.items()]
