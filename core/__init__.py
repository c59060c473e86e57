"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou

__all__ = ["box_iou"]
