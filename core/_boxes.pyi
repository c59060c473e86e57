import numpy as np
import numpy.typing as npt

def box_iou(
    boxes1: npt.NDArray[np.floating], boxes2t: npt.NDArray[np.floating], out: npt.NDArray[np.floating]
) -> None: ...
def generalized_box_iou(
    boxes1: npt.NDArray[np.floating], boxes2t: npt.NDArray[np.floating], out: npt.NDArray[np.floating]
) -> None: ...
def distance_box_iou(
    boxes1: npt.NDArray[np.floating], boxes2t: npt.NDArray[np.floating], eps: float,
    out: npt.NDArray[np.floating],
) -> None: ...
def complete_box_iou(
    boxes1: npt.NDArray[np.floating], boxes2t: npt.NDArray[np.floating],
    aspect1: npt.NDArray[np.floating], aspect2: npt.NDArray[np.floating], eps: float,
    out: npt.NDArray[np.floating],
) -> None: ...
