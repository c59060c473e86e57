import numpy as np
import numpy.typing as npt

def box_iou(
    boxes1: npt.NDArray[np.floating], boxes2: npt.NDArray[np.floating], out: npt.NDArray[np.floating]
) -> None: ...
