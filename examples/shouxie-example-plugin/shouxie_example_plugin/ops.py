"""The example plugin's ops: plain numpy functions taking keyword arguments."""
from __future__ import annotations

import math

import numpy as np


def _float_array(name: str, value, ndims: tuple[int, ...]) -> np.ndarray:
    """``value`` as a finite float array (float32 stays float32, anything else becomes float64)."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real array, got dtype {a.dtype}")
    if a.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {a.shape}")
    a = a.astype(np.float32 if a.dtype == np.float32 else np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Normalised 1-D Gaussian weights on ``-r .. r`` with ``r = int(truncate * sigma + 0.5)``."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    return weights / weights.sum()


def _blur_rows(a: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Correlate ``weights`` along axis 0 of ``a``, the border mirrored (``d c b a | a b c d``)."""
    radius = len(weights) // 2
    padded = np.pad(a, [(radius, radius)] + [(0, 0)] * (a.ndim - 1), mode="symmetric")
    out = np.zeros_like(a)
    for k, w in enumerate(weights.astype(a.dtype)):
        out += w * padded[k:k + a.shape[0]]
    return out


def gaussian_blur(image, sigma: float = 1.0, truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur of an image, as two 1-D passes (rows, then columns).

    Matches ``scipy.ndimage.gaussian_filter(image, (sigma, sigma[, 0]), mode="reflect",
    truncate=truncate)``: the border is mirrored and channels are blurred independently.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        Real values; float32 stays float32, anything else is computed in float64.
    sigma : float
        Standard deviation of the Gaussian in pixels, > 0.
    truncate : float
        The kernel stops at ``truncate * sigma`` pixels from its centre, > 0.

    Returns
    -------
    ndarray, same shape as ``image``
    """
    a = _float_array("image", image, (2, 3))
    for name, value in (("sigma", sigma), ("truncate", truncate)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if a.size == 0:
        return a.copy()
    weights = gaussian_kernel(float(sigma), float(truncate))
    out = _blur_rows(a, weights)
    return np.swapaxes(_blur_rows(np.swapaxes(out, 0, 1), weights), 0, 1).copy()


def box_areas(boxes) -> dict:
    """Area of each ``(x1, y1, x2, y2)`` box, and their mean.

    Parameters
    ----------
    boxes : array_like, shape (N, 4)
        Corners; a box with ``x2 < x1`` or ``y2 < y1`` has area 0.

    Returns
    -------
    dict
        ``areas`` (N,) in the boxes' float dtype, ``mean_area`` float (0.0 when N is 0).
    """
    b = _float_array("boxes", boxes, (2,))
    if b.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {b.shape}")
    areas = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    return {"areas": areas, "mean_area": float(areas.mean()) if len(areas) else 0.0}


def noisy_image(height: int = 64, width: int = 64, noise: float = 0.1, seed: int = 0) -> np.ndarray:
    """A float32 (height, width) test image: a diagonal ramp, a bright square and Gaussian noise.

    Parameters
    ----------
    height, width : int
        Image size in pixels, >= 0.
    noise : float
        Standard deviation of the added noise, >= 0.
    seed : int
        Seed of the numpy Generator; the same seed gives the same image.
    """
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = (x + y) / max(height + width - 2, 1)
    image[height // 4: 3 * height // 4, width // 4: 3 * width // 4] += 1.0
    return (image + rng.normal(0.0, noise, size=image.shape)).astype(np.float32)
