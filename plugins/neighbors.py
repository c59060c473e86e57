"""Built-in plugin: brute-force nearest neighbours and the scikit-learn reference."""
from __future__ import annotations

from shouxie import core

from ._optional import require
from .hookspecs import hookimpl


def knn_search(queries, data, k) -> dict:
    """The k nearest data points of every query: ascending distances and indices."""
    distances, indices = core.knn_search(queries, data, k)
    return {"distances": distances, "indices": indices}


def knn_classify(queries, data, labels, k) -> dict:
    """Majority vote of the k nearest neighbours (ties to the nearest): predicted labels."""
    return {"labels": core.knn_classify(queries, data, labels, k)}


def sklearn_knn(queries, data, k) -> dict:
    """scikit-learn NearestNeighbors(algorithm="brute").kneighbors, the reference for knn_search."""
    neighbors = require("sklearn.neighbors", needed_by="ref.sklearn_knn", install="pip install scikit-learn")
    distances, indices = neighbors.NearestNeighbors(n_neighbors=k, algorithm="brute").fit(data).kneighbors(queries)
    return {"distances": distances, "indices": indices}


@hookimpl
def shouxie_register_ops(registry):
    registry.add("neighbors.knn_search", knn_search)
    registry.add("neighbors.knn_classify", knn_classify)
    registry.add("ref.sklearn_knn", sklearn_knn)
