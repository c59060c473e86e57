import numpy as np
import numpy.typing as npt

def cluster(
    boxes: npt.NDArray[np.float64], scores: npt.NDArray[np.float64], weights: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp], iou_threshold: float, use_max: bool, acc: npt.NDArray[np.float32],
    conf: npt.NDArray[np.float64], wsum: npt.NDArray[np.float64], best: npt.NDArray[np.float64],
    fused: npt.NDArray[np.float64], fused_score: npt.NDArray[np.float64], fused_weight: npt.NDArray[np.float64],
    count: npt.NDArray[np.intp], assignment: npt.NDArray[np.intp], clusters: npt.NDArray[np.intp],
) -> None: ...
