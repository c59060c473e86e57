"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou, complete_box_iou, distance_box_iou, generalized_box_iou
from .detection_losses import (
    focal_bias_init,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
    yolov3_loss,
    yolov3_targets,
)
from .nms import batched_nms, nms, nms_detections, soft_nms

__all__ = [
    "box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou",
    "nms", "batched_nms", "nms_detections", "soft_nms",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad", "focal_bias_init", "yolov3_targets", "yolov3_loss",
]
