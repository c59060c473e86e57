"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .metrics import auc, average_precision, precision_recall_curve, roc_curve

__all__ = ["box_iou", "auc", "roc_curve", "precision_recall_curve", "average_precision"]
