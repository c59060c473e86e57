"""The README's "Differences from the references" table lists every documented difference."""
import importlib
from pathlib import Path

import pytest

SUITES = ["torchvision.test_ops", "sklearn.test_ranking", "sklearn.test_k_means", "scipy.test_filters"]


@pytest.mark.parametrize("suite", SUITES)
def test_every_difference_is_in_the_readme(suite):
    try:
        module = importlib.import_module(f"{__package__}.{suite}")
    except pytest.skip.Exception as skipped:   # its reference is not installed
        pytest.skip(str(skipped))
    table = (Path(__file__).parent / "README.md").read_text().split("## Differences from the references")[1]
    missing = [pattern for pattern in module.PEER_XFAIL if f"`{pattern}`" not in table]
    assert not missing, f"{suite}: PEER_XFAIL entries missing from README.md: {missing}"
