"""The conformance kit (shouxie.plugins.testing) applied to every built-in op and every config.

Parametrised over whatever is registered and whatever configs exist, so new families are checked
as they land: metadata for every op, params binding for every config step (benchmarks included),
and full calls (types, determinism, untouched inputs) for the steps of the example configs, where
each op's benchmark counterparts (its ``compare:`` partners) also run with the same params.
"""
from pathlib import Path

import pytest
import yaml

from shouxie.plugins import collect_ops, get_plugin_manager, testing

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = collect_ops(get_plugin_manager(load_entrypoints=False))
OPS = list(REGISTRY)
EXAMPLE_CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
ALL_CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))


#: A reference op runs wherever the op a benchmark compares it with runs, with the same params.
ALIKE = testing.compare_groups(ALL_CONFIGS)


def _ops_used(paths):
    used = set()
    for path in paths:
        for step in yaml.safe_load(path.read_text(encoding="utf-8"))["steps"]:
            for name in step.get("compare") or [step["op"]]:
                used.update([name, *ALIKE.get(name, ())])
    return used


EXERCISED = _ops_used(EXAMPLE_CONFIGS)
#: Kernels may reduce in parallel (OpenMP), summing in a different order from call to call.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-8}


def _registry_for(path):
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    return testing.config_registry(config) if config.get("plugins") else REGISTRY


def _rel(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_op_has_summary_docstring_and_keyword_signature(op):
    testing.check_metadata(op)


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=_rel)
def test_config_params_bind_to_its_ops(path):
    report = testing.check_config(path, _registry_for(path), execute=False)
    assert report and set(report.values()) == {"bound"}


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=_rel)
def test_config_ops_conform_when_run(path, tmp_path):
    report = testing.check_config(path, _registry_for(path), run_dir=tmp_path, alike=ALIKE, **TOLERANCE)
    failed = {op: status for op, status in report.items() if status != "ok"}
    assert not [s for s in failed.values() if not s.startswith("skipped: ")], failed


@pytest.mark.parametrize("op", [op for op in OPS if op.name not in EXERCISED], ids=lambda op: op.name)
def test_op_no_config_runs_is_called_with_its_defaults(op):
    if testing.required_params(op):
        pytest.skip(f"{op.name}: no example config runs it and it takes required params "
                    f"{testing.required_params(op)}")
    testing.check_call(op, **TOLERANCE)
