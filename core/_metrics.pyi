import numpy as np
import numpy.typing as npt

def rank_walk(
    pos: npt.NDArray[np.floating],
    neg: npt.NDArray[np.floating],
    w_pos: npt.NDArray[np.float64],
    w_neg: npt.NDArray[np.float64],
    tps: npt.NDArray[np.float64],
    fps: npt.NDArray[np.float64],
    thresholds: npt.NDArray[np.floating],
) -> tuple[float, int]: ...
def split_by_class(
    scores: npt.NDArray[np.floating],
    is_pos: npt.NDArray[np.uint8],
    weights: npt.NDArray[np.float64],
    pos: npt.NDArray[np.floating],
    neg: npt.NDArray[np.floating],
    w_pos: npt.NDArray[np.float64],
    w_neg: npt.NDArray[np.float64],
) -> None: ...
def sort_weighted(scores: npt.NDArray[np.floating], weights: npt.NDArray[np.float64]) -> None: ...
