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
