"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou, complete_box_iou, distance_box_iou, generalized_box_iou
from .nms import batched_nms, nms, nms_detections, soft_nms

__all__ = [
    "box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou",
    "nms", "batched_nms", "nms_detections", "soft_nms",
]
