"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .median import median_filter
from .resize import resize_bilinear

__all__ = ["box_iou", "median_filter", "resize_bilinear"]
