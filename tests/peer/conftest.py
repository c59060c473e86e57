"""Peer suites: the reference projects' own tests run against shouxie through adapters.

Each test module may define two tables keyed by test id patterns (the part of the node id after
the file, where ``*`` matches anything, e.g. ``"TestNMS::test_qnms*"`` or
``"test_gh_23075[*-constant-*]"``):

``PEER_SKIP``
    pattern -> reason: cases out of scope (CUDA, TorchScript, sparse input, a footprint...).
``PEER_XFAIL``
    pattern -> (reason, exception or None): documented differences from the reference (see
    tests/peer/README.md). They are ``xfail(strict=True)``, so a difference that disappears
    fails the suite and must be removed from the table and the README.
"""
import re

import numpy as np
import pytest

MARKERS = (
    "opcheck_only_one: torchvision's opcheck selection (no effect here)",
    "needs_cuda: the case needs a CUDA device",
    "needs_mps: the case needs an Apple MPS device",
    "skip_xp_backends(*backends, reason=None, np_only=False, exceptions=()): scipy's array-API skips",
    "xfail_xp_backends(*backends, reason=None, np_only=False, exceptions=()): scipy's array-API xfails",
    "array_api_backends: scipy's array-API parametrisation",
)


def pytest_configure(config):
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def _case(item) -> str:
    return item.nodeid.split("::", 1)[1]


def _matches(pattern: str, case: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), case) is not None


def _first(table: dict, case: str):
    return next((value for pattern, value in table.items() if _matches(pattern, case)), None)


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is None or not hasattr(module, "PEER_XFAIL"):
            continue
        case = _case(item)
        reason = _first(module.PEER_SKIP, case)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"out of scope: {reason}"))
            continue
        difference = _first(module.PEER_XFAIL, case)
        if difference is not None:
            reason, raises = difference
            item.add_marker(pytest.mark.xfail(strict=True, raises=raises, reason=f"difference: {reason}"))


@pytest.fixture
def xp():
    """scipy's array-namespace fixture: shouxie takes numpy arrays, so numpy only."""
    return np


@pytest.fixture
def global_dtype():
    """scikit-learn's dtype fixture at its default (SKLEARN_RUN_FLOAT32_TESTS unset: float64)."""
    return np.float64


@pytest.fixture
def global_random_seed():
    """scikit-learn's seed fixture at its default (SKLEARN_TESTS_GLOBAL_RANDOM_SEED unset: 42)."""
    return 42
