"""shouxie.plugins.testing catches each kind of non-conforming op, and passes good ones."""
import itertools
import types

import numpy as np
import pytest

from shouxie.plugins import OpRegistry, collect_ops, hookimpl, testing
from shouxie.plugins.testing import ConformanceError


def make_op(func, name="kit.op"):
    return OpRegistry().add(name, func, plugin="kit")


def good(x, scale=2.0, seed=0):
    """Scale x and add seeded noise."""
    noise = np.random.default_rng(seed).random(np.shape(x))
    return {"y": np.asarray(x) * scale + noise, "total": float(np.sum(x))}


def no_doc(x):
    return x


def positional(x, /):
    """Positional-only."""
    return x


def star_args(*xs):
    """Varargs."""
    return 0


def returns_list(x):
    """A list."""
    return [1, 2]


def returns_none(x):
    """Nothing."""


def bad_key(x):
    """A key that is not an identifier."""
    return {"mean iou": 1.0}


def object_array(x):
    """Objects."""
    return np.array([{}, []], dtype=object)


def unseeded(x):
    """Random without a seed."""
    return np.random.default_rng().random(3)


def mutates(x):
    """Sorts its input in place."""
    x.sort()
    return x


_counter = itertools.count()


def drifting(x):
    """Differs by 1e-9 relative from call to call, like a parallel reduction."""
    return 1.0 + next(_counter) * 1e-9


@pytest.mark.parametrize("func, params, match", [
    (no_doc, {"x": 1}, "has no summary"),
    (positional, {}, "parameter 'x' is positional-only"),
    (star_args, {}, "parameter 'xs' is variadic positional"),
    (returns_list, {"x": 1}, "its result is a list"),
    (returns_none, {"x": 1}, "its result is a NoneType"),
    (bad_key, {"x": 1}, "output name 'mean iou' is not an identifier"),
    (object_array, {"x": 1}, "object array"),
    (unseeded, {"x": 1}, "is not deterministic"),
    (mutates, {"x": np.array([3, 1, 2])}, "modified its input 'x'"),
    (good, {"z": 1}, r"does not accept params \['seed', 'z'\].*it takes: x, scale, seed"),
    (good, {}, r"takes required params \['x'\]; give it at least one example"),
])
def test_each_violation_is_named(func, params, match):
    with pytest.raises(ConformanceError, match=match):
        testing.check_op(make_op(func), [params] if params else [])


def test_a_conforming_op_passes_and_gets_a_fixed_seed():
    op = make_op(good)
    assert testing.check_op(op, [{"x": [1.0, 2.0]}, {"x": np.zeros((2, 3)), "seed": 5}]) == 2
    out = testing.check_call(op, {"x": [1.0]}, seed=3)
    np.testing.assert_array_equal(out["y"], good([1.0], seed=3)["y"])


def test_tolerance_allows_float_drift():
    with pytest.raises(ConformanceError, match="not deterministic"):
        testing.check_call(make_op(drifting), {"x": 0})
    assert testing.check_call(make_op(drifting), {"x": 0}, rtol=1e-6) >= 1.0


def test_nan_results_are_the_same_result():
    def nan(x):
        """NaN."""
        return {"a": np.array([np.nan, 1.0]), "b": float("nan")}
    testing.check_call(make_op(nan), {"x": 0})


def test_check_plugin_uses_examples_and_rejects_unknown_ones():
    plugin = types.SimpleNamespace(shouxie_register_ops=lambda registry: registry.add("kit.good", good))
    assert [op.name for op in testing.check_plugin(plugin, {"kit.good": [{"x": 1.0}]})] == ["kit.good"]
    with pytest.raises(ConformanceError, match=r"examples name ops the plugin does not register: \['kit.bad'\]"):
        testing.check_plugin(plugin, {"kit.bad": [{}]})
    with pytest.raises(ConformanceError, match="has no shouxie_register_ops hook"):
        testing.plugin_ops(object())


class KitPlugin:
    @hookimpl
    def shouxie_register_ops(self, registry):
        def ref_missing(boxes1, boxes2):
            """A reference whose library is not installed."""
            raise ImportError("ref.missing needs the 'nosuchlib' package")
        registry.add("ref.missing_box_iou", ref_missing)


def test_check_config_runs_steps_at_the_cheapest_point(pm, write_config):
    pm.register(KitPlugin())
    registry = collect_ops(pm)
    path = write_config("""
        name: kit
        sweep: {n: [50, 7, 20]}
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: "${n}", seed: "${seed}"}}
          - name: iou
            compare: [ref.missing_box_iou, detection.box_iou]
            params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}
          - {name: again, op: detection.box_iou, params: {boxes1: "@iou.iou", boxes2: "@boxes.boxes"}}
    """)
    report = testing.check_config(path, registry, execute=False)
    assert report == {"data.random_boxes": "bound", "ref.missing_box_iou": "bound", "detection.box_iou": "bound"}
    with pytest.raises(ConformanceError, match=r"step 'again'.*raised ValueError: boxes1 must have shape"):
        testing.check_config(path, registry)  # the (7, 7) IoU matrix is not a set of boxes: the config is wrong
    path.write_text(path.read_text().replace('"@iou.iou"', '"@boxes.boxes"'))
    report = testing.check_config(path, registry)
    assert report["detection.box_iou"] == "ok" and report["data.random_boxes"] == "ok"
    assert report["ref.missing_box_iou"] == "skipped: ref.missing needs the 'nosuchlib' package"


@pytest.mark.parametrize("step, match", [
    ("{name: a, op: detection.box_iuo}", "step 'a': unknown op 'detection.box_iuo' .did you mean 'detection.box_iou'"),
    ("{name: a, op: detection.box_iou, params: {boxes: 1}}", "op 'detection.box_iou' does not accept params"),
])
def test_check_config_names_the_step(pm, write_config, step, match):
    path = write_config(f"name: kit\nsteps:\n  - {step}\n")
    with pytest.raises(ConformanceError, match=match):
        testing.check_config(path, collect_ops(pm), execute=False)


def test_compare_partners_run_with_the_same_params_and_zip_takes_its_first_row(pm, write_config):
    pm.register(KitPlugin())
    registry = collect_ops(pm)
    bench = write_config("""
        name: bench
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: 10}}
          - {name: iou, compare: [ref.missing_box_iou, detection.box_iou], params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}}
    """, name="bench.yaml")
    assert testing.compare_groups([bench]) == {"ref.missing_box_iou": ["detection.box_iou"],
                                               "detection.box_iou": ["ref.missing_box_iou"]}
    example = write_config("""
        name: example
        zip: {n: [4, 1000], size: [64, 640]}
        steps:
          - {name: boxes, op: data.random_boxes, params: {n: "${n}", image_size: "${size}"}}
          - {name: iou, op: detection.box_iou, params: {boxes1: "@boxes.boxes", boxes2: "@boxes.boxes"}}
    """)
    report = testing.check_config(example, registry, alike=testing.compare_groups([bench]))
    assert report == {"data.random_boxes": "ok", "detection.box_iou": "ok",
                      "ref.missing_box_iou": "skipped: ref.missing needs the 'nosuchlib' package"}
