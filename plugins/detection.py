"""Built-in plugin: the detection family's ops and the data they run on."""
from __future__ import annotations

import numpy as np

from shouxie import core

from .hookspecs import hookimpl


def random_boxes(n: int = 1000, image_size: int = 640, num_classes: int = 80, seed: int = 0) -> dict:
    """Random detections: boxes (n, 4) float32 inside the image, scores in [0, 1), classes.

    Parameters
    ----------
    n : int
        Number of boxes.
    image_size : int
        Side of the square image the boxes lie in.
    num_classes : int
        Classes are drawn uniformly from ``0 .. num_classes - 1``.
    seed : int
        Seed of the numpy Generator.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, image_size, size=(n, 2))
    sizes = rng.uniform(0.02, 0.3, size=(n, 2)) * image_size
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    boxes = np.clip(boxes, 0, image_size).astype(np.float32)
    scores = rng.random(n).astype(np.float32)
    classes = rng.integers(0, num_classes, size=n, dtype=np.int64)
    return {"boxes": boxes, "scores": scores, "classes": classes}


def box_iou(boxes1, boxes2) -> dict:
    """Pairwise IoU of two box sets; reports the IoU matrix and its mean."""
    iou = core.box_iou(boxes1, boxes2)
    return {"iou": iou, "mean_iou": float(iou.mean()) if iou.size else 0.0}


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.random_boxes", random_boxes)
    registry.add("detection.box_iou", box_iou)
