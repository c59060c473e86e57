"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .huffman import HuffmanCode, compress, decompress, entropy_bits

__all__ = ["box_iou"]
__all__ += ["HuffmanCode", "compress", "decompress", "entropy_bits"]
