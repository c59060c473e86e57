"""scipy's own median filter tests, run against shouxie.

The tests are scipy's ``scipy/ndimage/tests/test_filters.py`` from the installed package
(BSD-3-Clause, executed in place, not copied), with ``ndimage.median_filter`` rebound to the
adapter of :mod:`.adapters` (every other ``ndimage`` function stays scipy's). Only the tests
whose median filter maps onto a square window and one of shouxie's four borders are collected;
the others are listed in tests/peer/README.md.
"""
import pytest

pytest.importorskip("scipy")
pytest.importorskip("hypothesis")  # the upstream module imports it

from .._upstream import load_installed_tests, pick  # noqa: E402
from .adapters import ndimage  # noqa: E402

upstream = load_installed_tests("scipy.ndimage.tests", "test_filters.py", {"ndimage": ndimage})

SELECTED = (
    "TestNdimageFilters::test_rank01", "TestNdimageFilters::test_rank02", "TestNdimageFilters::test_rank04",
    "TestThreading::test_median_filter",
    "test_byte_order_median", "test_gh_23075", "test_median_filter_lim2",
)
globals().update(pick(upstream, SELECTED))

PEER_SKIP = {
    "test_gh_23075[*-wrap-*]": "the wrap border (shouxie has replicate, constant, reflect, reflect101)",
    "test_gh_23075[*-constant-*]": "a 1-D signal with the constant border (a square window would read cval rows)",
}
EVEN = ("an even window: shouxie's windows are odd (centred); scipy's even windows lean one way "
        "(ValueError)")
PEER_XFAIL = {
    "TestNdimageFilters::test_rank01": (EVEN, ValueError),
    "test_gh_23075[*-100-*]": (EVEN, ValueError),
}
