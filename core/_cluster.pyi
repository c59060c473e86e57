import numpy as np
import numpy.typing as npt

CHUNK: int

def max_threads() -> int: ...
def lloyd_iter(
    X: npt.NDArray[np.floating],
    centers: npt.NDArray[np.floating],
    center_norms: npt.NDArray[np.floating],
    labels: npt.NDArray[np.int32],
    sums: npt.NDArray[np.floating],
    counts: npt.NDArray[np.floating],
    update: bool,
) -> None: ...
def inertia(
    X: npt.NDArray[np.floating], centers: npt.NDArray[np.floating], labels: npt.NDArray[np.int32]
) -> float: ...
def anchor_assign(
    wh: npt.NDArray[np.floating],
    anchors: npt.NDArray[np.floating],
    labels: npt.NDArray[np.int32],
    best_iou: npt.NDArray[np.floating],
) -> None: ...
def cluster_medians(
    values: npt.NDArray[np.floating], labels: npt.NDArray[np.int32], out: npt.NDArray[np.floating]
) -> None: ...
def mean_shift_seeds(
    X: npt.NDArray[np.float64],
    cell_keys: npt.NDArray[np.int64],
    cell_start: npt.NDArray[np.intp],
    cell_sum: npt.NDArray[np.float64],
    cell_lo: npt.NDArray[np.float64],
    cell_hi: npt.NDArray[np.float64],
    grid_shape: npt.NDArray[np.int64],
    grid_origin: npt.NDArray[np.float64],
    side: float,
    reach: int,
    seeds: npt.NDArray[np.float64],
    bandwidth: float,
    gaussian: bool,
    max_iter: int,
    means: npt.NDArray[np.float64],
    counts: npt.NDArray[np.intp],
    n_iter: npt.NDArray[np.intp],
    work: npt.NDArray[np.float64],
) -> None: ...
