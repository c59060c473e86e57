import numpy as np
import numpy.typing as npt

def nms_segments(
    boxes_t: npt.NDArray[np.floating], starts: npt.NDArray[np.int64], iou_threshold: float,
    keep: npt.NDArray[np.int64],
) -> int: ...
def soft_nms(
    boxes_t: npt.NDArray[np.float64], band: npt.NDArray[np.int64], bands: int, ids: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    method: int, sigma: float, iou_threshold: float, score_threshold: float,
    selected: npt.NDArray[np.int64], selected_scores: npt.NDArray[np.float64],
) -> int: ...
