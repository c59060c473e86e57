"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
# First: the compiled variant of each hot kernel family for this CPU (core/_dispatch.py).
from ._dispatch import cpu_info, install as _install_kernels

_install_kernels()
# Detection: box overlaps, non-maximum suppression, detection losses.
from .boxes import box_iou, complete_box_iou, distance_box_iou, generalized_box_iou
from .coco import COCOEvalResult, coco_evaluate
from .detection_losses import (focal_bias_init, sigmoid_focal_loss, sigmoid_focal_loss_grad,
                               yolov3_loss, yolov3_targets)
from .nms import batched_nms, nms, nms_detections, soft_nms
from .wbf import weighted_boxes_fusion
# Learning and metrics: ranking metrics, linear models, architecture arithmetic.
from .arch import LayerField, receptive_field
from .linear import GDResult, gradient_descent, least_squares
from .metrics import auc, average_precision, precision_recall_curve, roc_curve
# Clustering and neighbours: k-means, YOLO anchors, mean shift, kNN.
from .cluster import AnchorResult, KMeansResult, anchor_kmeans, kmeans, mean_shift
from .neighbors import knn_classify, knn_search
# Neural networks: layers with backward passes, Adam, conv+BN fusion.
from .conv import conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward
from .fusion import fuse_conv_bn, fuse_torch_conv_bn
from .gradcheck import numerical_gradient
from .layers import (batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, softmax_loss)
from .optim import Adam
# Image: median filter, bilinear resize.
from .median import median_filter
from .resize import resize_bilinear
# Coding: Huffman codes and a block container.
from .huffman import HuffmanCode, compress, decompress, entropy_bits

__all__ = [
    "cpu_info",
    # detection
    "box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou",
    "nms", "batched_nms", "nms_detections", "soft_nms",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad", "focal_bias_init", "yolov3_targets", "yolov3_loss",
    "coco_evaluate", "COCOEvalResult", "weighted_boxes_fusion",
    # learning and metrics
    "auc", "roc_curve", "precision_recall_curve", "average_precision",
    "least_squares", "gradient_descent", "GDResult", "receptive_field", "LayerField",
    # clustering and neighbours
    "kmeans", "KMeansResult", "anchor_kmeans", "AnchorResult", "mean_shift", "knn_search", "knn_classify",
    # neural networks
    "relu_forward", "relu_backward", "batchnorm_forward", "batchnorm_backward",
    "dropout_forward", "dropout_backward", "conv2d_forward", "conv2d_backward",
    "max_pool2d_forward", "max_pool2d_backward", "softmax_loss", "Adam",
    "fuse_conv_bn", "fuse_torch_conv_bn", "numerical_gradient",
    # image
    "median_filter", "resize_bilinear",
    # coding
    "HuffmanCode", "compress", "decompress", "entropy_bits",
]
