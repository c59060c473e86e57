"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .conv import conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward
from .fusion import fuse_conv_bn
from .gradcheck import numerical_gradient
from .layers import (batchnorm_backward, batchnorm_forward, dropout_backward, dropout_forward,
                     relu_backward, relu_forward, softmax_loss)
from .optim import Adam

__all__ = ["box_iou"]
__all__ += [
    "Adam", "batchnorm_backward", "batchnorm_forward", "conv2d_backward", "conv2d_forward",
    "dropout_backward", "dropout_forward", "fuse_conv_bn", "max_pool2d_backward",
    "max_pool2d_forward", "numerical_gradient", "relu_backward", "relu_forward", "softmax_loss",
]
