"""scikit-learn's own k-means tests for Lloyd's algorithm, run against shouxie.

The tests are scikit-learn's ``sklearn/cluster/tests/test_k_means.py`` from the installed
package (BSD-3-Clause, executed in place, not copied), with ``KMeans`` and ``k_means`` rebound
to the adapters of :mod:`.adapters` (also where the upstream tests take them as a parameter).
Cases of MiniBatchKMeans, the Elkan algorithm and sparse input are collected and skipped.
"""
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from .._upstream import load_installed_tests, pick  # noqa: E402
from .adapters import CLUSTERING, Unsupported  # noqa: E402

upstream = load_installed_tests("sklearn.cluster.tests", "test_k_means.py", CLUSTERING)

SELECTED = (
    "test_kmeans_results", "test_kmeans_relocated_clusters", "test_kmeans_convergence", "test_all_init",
    "test_kmeans_init_auto_with_initial_centroids", "test_fortran_aligned_data", "test_kmeans_copyx",
    "test_score_max_iter", "test_kmeans_predict", "test_integer_input", "test_n_init", "test_k_means_function",
    "test_float_precision", "test_centers_not_mutated", "test_kmeans_init_fitted_centers",
    "test_kmeans_empty_cluster_relocated", "test_result_equal_in_diff_n_threads", "test_k_means_1_iteration",
    "test_kmeans_with_array_like_or_np_scalar_init",
)
globals().update(pick(upstream, SELECTED))

PEER_SKIP = {
    "*MiniBatchKMeans*": "MiniBatchKMeans (shouxie's k-means is Lloyd's)",
    "*elkan*": "the Elkan algorithm (shouxie's k-means is Lloyd's)",
    "*sparse*": "sparse input",
}
WEIGHTS = "sample_weight: shouxie's kmeans has no sample weights"
PEER_XFAIL = {
    "test_kmeans_results[*]": (WEIGHTS, Unsupported),
    "test_kmeans_empty_cluster_relocated[*]": (WEIGHTS, Unsupported),
    "test_all_init[KMeans-callable-*]": ("a callable init (shouxie takes \"k-means++\", \"random\" or an array)",
                                         Unsupported),
    "test_kmeans_init_auto_with_initial_centroids[KMeans-<lambda>-*]": (
        "a callable init (shouxie takes \"k-means++\", \"random\" or an array)", Unsupported),
    "test_float_precision[KMeans-*]": ("KMeans.transform (distances to every centre): no shouxie counterpart",
                                       AttributeError),
}
