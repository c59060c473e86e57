"""Hostile input for every public function of ``shouxie.core`` (property tests, hypothesis).

Two properties per function, over the valid calls its case draws (``cases.py``):

* another memory layout of the same values (Fortran order, negative strides, steps, transposes,
  read-only, unaligned, byte-swapped, stride 0, nested lists) gives exactly the plain result;
* a corrupted call (another dtype, shape or length, NaN / inf / 1e308 / subnormals, absurd or
  out-of-range scalars, garbage objects) gives a correct result (the case's reference) or a
  ``ValueError`` / ``TypeError`` naming an argument, never another exception.

Neither ever writes into an input except those documented to be updated in place, and no result
shares memory with an input.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shouxie import core

from .cases import CASES
from .strategies import LAYOUTS, assert_no_alias, assert_same, call, corrupted, hostile_scalar, relayout

pytestmark = pytest.mark.timeout(600)

#: Layouts that keep an array a writeable ndarray (for inputs updated in place).
WRITEABLE_LAYOUTS = ("contiguous", "fortran", "reversed", "strided", "transposed", "unaligned")
#: Hostile values for parameters where a huge value legitimately means hours of work.
TAME_SCALARS = (0, -1, 1, 1.5, np.nan, None, "1", True, 2**63, -2**63)
NOT_FUNCTIONS = {"GDResult", "LayerField", "KMeansResult", "AnchorResult", "HuffmanCode", "COCOEvalResult"}
#: Public functions without a case here: no input (cpu_info), a torch-module adapter
#: (fuse_torch_conv_bn: test_hostile_sizes), COCO dictionaries (coco_evaluate: test_coco_eval).
WITHOUT_CASE = {"cpu_info", "fuse_torch_conv_bn", "coco_evaluate"}


def test_every_public_function_has_a_case():
    covered = {name.split(".")[0] for name in CASES}
    assert set(core.__all__) - NOT_FUNCTIONS - WITHOUT_CASE <= covered


def fresh(kwargs: dict) -> dict:
    """A copy whose arrays are new contiguous arrays (the call of reference)."""
    return {k: copy.deepcopy(v) if isinstance(v, (np.ndarray, list, tuple)) else v for k, v in kwargs.items()}


def _arrays(kwargs: dict):
    """``(name, container, key)`` of every array argument, also inside lists (params, outputs)."""
    for name, value in kwargs.items():
        if isinstance(value, np.ndarray):
            yield name, kwargs, name
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, np.ndarray):
                    yield name, value, i


def over_cases(test):
    """Run ``test(case, kwargs, data)`` on valid calls of every case, drawn by hypothesis."""
    @pytest.mark.parametrize("name", sorted(CASES))
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(name, data):
        c = CASES[name]
        test(c, data.draw(c.valid(), label="kwargs"), data)
    run.__name__ = run.__qualname__ = test.__name__
    run.__doc__ = test.__doc__
    return run


@over_cases
def test_layouts_give_the_plain_result(c, kwargs, data):
    reference = fresh(kwargs)
    expected = call(c.fn, reference, mutable=c.mutable, names=c.subjects)
    for arg, container, key in list(_arrays(kwargs)):
        layouts = WRITEABLE_LAYOUTS if arg in c.mutable else LAYOUTS
        layout = "contiguous" if arg in c.fixed else data.draw(st.sampled_from(layouts), label=f"{arg} layout")
        container[key] = relayout(container[key], layout)
    outcome = call(c.fn, kwargs, mutable=c.mutable, names=c.subjects)
    assert outcome[0] == expected[0], f"plain call {expected[1]!r}, relaid call {outcome[1]!r}"
    if outcome[0]:
        assert_same(outcome[1], expected[1])
        assert_no_alias(outcome[1], kwargs)
        if c.check is not None:
            c.check(outcome[1], kwargs)
    else:
        assert type(outcome[1]) is type(expected[1])
    for arg in c.mutable:   # updated in place the same way
        assert_same(kwargs[arg], reference[arg], arg)


def _corrupt_one(data, c, kwargs: dict) -> None:
    names = [name for name in kwargs if name not in c.internal]
    arg = data.draw(st.sampled_from(names), label="corrupted argument")
    value = kwargs[arg]
    arrays = [(container, key) for a, container, key in _arrays(kwargs) if a == arg]
    if arrays and data.draw(st.booleans(), label="corrupt an element"):
        container, key = data.draw(st.sampled_from(arrays), label="element")
        if arg not in c.mutable:
            container[key] = data.draw(corrupted(container[key]), label=f"{arg} value")
            return
    if isinstance(value, np.ndarray) and arg not in c.mutable:
        kwargs[arg] = data.draw(corrupted(value), label=f"{arg} value")
        return
    pool = TAME_SCALARS if arg in c.tame else None
    extra = c.scalars.get(arg, ())
    kwargs[arg] = data.draw(st.sampled_from(pool + tuple(extra)) if pool else hostile_scalar(extra),
                            label=f"{arg} value")


@over_cases
def test_corrupted_calls_fail_cleanly_or_are_right(c, kwargs, data):
    for _ in range(data.draw(st.integers(1, 2), label="corruptions")):
        _corrupt_one(data, c, kwargs)
    ok, result = call(c.fn, kwargs, mutable=c.mutable, names=c.subjects)
    if ok:
        assert_no_alias(result, kwargs)
        if c.check is not None:
            c.check(result, kwargs)
