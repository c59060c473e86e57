"""Plain references shared by the tests of the neural-network family."""
import numpy as np


def rel_err(got, want):
    """Largest absolute difference relative to the largest magnitude of the reference."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.size == 0:
        return 0.0
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
