"""shouxie.core: the algorithms, as validated Python wrappers around compiled kernels."""
from .boxes import box_iou
from .cluster import AnchorResult, KMeansResult, anchor_kmeans, kmeans, mean_shift
from .neighbors import knn_classify, knn_search

__all__ = ["box_iou"]
__all__ += ["AnchorResult", "KMeansResult", "anchor_kmeans", "kmeans", "knn_classify", "knn_search", "mean_shift"]
