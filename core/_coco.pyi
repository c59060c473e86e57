import enum

import numpy as np
import numpy.typing as npt

class Outcome(enum.IntEnum):
    FALSE_POSITIVE = 0
    TRUE_POSITIVE = 1
    IGNORED = 2

def match(
    dt_boxes: npt.NDArray[np.float64], dt_area: npt.NDArray[np.float64], gt_boxes: npt.NDArray[np.float64],
    gt_area: npt.NDArray[np.float64], gt_crowd: npt.NDArray[np.uint8], gt_counted: npt.NDArray[np.uint8],
    groups: npt.NDArray[np.intp], iou_offset: npt.NDArray[np.intp], thresholds: npt.NDArray[np.float64],
    area_ranges: npt.NDArray[np.float64], column: npt.NDArray[np.intp], iou: npt.NDArray[np.float64], gt_order: npt.NDArray[np.intp],
    gt_ignore: npt.NDArray[np.uint8], gt_matched: npt.NDArray[np.uint8], status: npt.NDArray[np.int8],
) -> None: ...
