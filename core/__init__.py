"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .huffman import HuffmanCode, compress, decompress, entropy_bits

__all__ = ["box_iou"]

# Learning and metrics family (metrics, linear models, architecture arithmetic).
from .arch import LayerField, receptive_field  # noqa: E402
from .linear import GDResult, gradient_descent, least_squares  # noqa: E402
from .metrics import auc, average_precision, precision_recall_curve, roc_curve  # noqa: E402

__all__ += ["auc", "roc_curve", "precision_recall_curve", "average_precision",
            "least_squares", "gradient_descent", "GDResult", "receptive_field", "LayerField"]
__all__ += ["HuffmanCode", "compress", "decompress", "entropy_bits"]

# Neural-network family (layers with backward passes, Adam, conv+BN fusion).
from .conv import conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward  # noqa: E402
from .fusion import fuse_conv_bn, fuse_torch_conv_bn  # noqa: E402
from .gradcheck import numerical_gradient  # noqa: E402
from .layers import (batchnorm_backward, batchnorm_forward, dropout_backward,  # noqa: E402
                     dropout_forward, relu_backward, relu_forward, softmax_loss)
from .optim import Adam  # noqa: E402

__all__ += [
    "Adam", "batchnorm_backward", "batchnorm_forward", "conv2d_backward", "conv2d_forward",
    "dropout_backward", "dropout_forward", "fuse_conv_bn", "fuse_torch_conv_bn",
    "max_pool2d_backward", "max_pool2d_forward", "numerical_gradient", "relu_backward",
    "relu_forward", "softmax_loss",
]

# Image family (median filter, bilinear resize).
from .median import median_filter  # noqa: E402
from .resize import resize_bilinear  # noqa: E402

__all__ += ["median_filter", "resize_bilinear"]
