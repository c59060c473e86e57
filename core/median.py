"""Median filter for 2-D images with OpenCV / scipy border modes.

The median of every ``ksize x ksize`` window, channel by channel. The algorithm is chosen by
window size and dtype (see :mod:`shouxie.core._median`): min/max networks for ``ksize`` 3, 5
and 7 (hand-made) and 9 to 21 (generated at build time; uint8 up to 15, float64 up to 19; rows
of at least 64 bytes); beyond them Perreault-Hebert constant-time histograms for uint8, Huang's
two-level sliding histogram for 16-bit, and for floats a three-level Huang histogram on the
ranks of the values (sorted sliding windows beyond ``2**24`` pixels per channel). Results equal
``scipy.ndimage.median_filter(image, size=(k, k[, 1]), mode=...)`` exactly and
``cv2.medianBlur`` wherever OpenCV accepts the input. (scipy's ``reflect`` mode reads outside
the image once the radius reaches twice a side; there shouxie follows the definition.)
"""
from __future__ import annotations

import numpy as np

from . import _median
from ._image import as_image, channels_of
from ._validation import choice, integer, real_number

#: border name -> ``numpy.pad`` mode giving the source index of every padded index.
BORDERS = {
    "replicate": "edge",         # aaa|abcd|ddd   scipy "nearest", cv2.BORDER_REPLICATE
    "constant": "constant",      # kkk|abcd|kkk   scipy "constant", cv2.BORDER_CONSTANT
    "reflect": "symmetric",      # cba|abcd|dcb   scipy "reflect", cv2.BORDER_REFLECT
    "reflect101": "reflect",     # dcb|abcd|cba   scipy "mirror", cv2.BORDER_REFLECT_101
}
#: Largest side filtered by a generated network where the histograms are faster beyond it:
#: uint8 (constant-time histograms; at k = 17 on 1080p 34 ms against 32 ms on a test pattern)
#: and float64 (ranks; at k = 21 on 480x270 noise 35 ms against about 30 ms).
MAX_NETWORK_KSIZE = {np.dtype(np.uint8): 15, np.dtype(np.float64): 19}
#: Largest window side: column histograms count in uint16.
MAX_KSIZE = 65535
#: The sorted-window algorithm does about ``ksize**2`` steps per pixel; refuse work beyond this.
MAX_SORTED_STEPS = 2**36
#: Float images rank their values; histograms of up to ``2**MAX_RANK_BITS`` ranks, with at
#: most ``2**TOP_BITS`` top-level buckets (the median's top bucket is followed bucket by bucket).
MAX_RANK_BITS = 24
TOP_BITS = 10
#: Row bands per channel: the units of parallel work of the sliding filters.
BANDS = 8


def _network(k: int, dtype: np.dtype, row: int) -> bool:
    """Whether a min/max network filters ``ksize=k`` rows of ``row`` values of ``dtype``."""
    if k <= 7:
        return True
    return (k in _median.NETWORK_SIDES and row * dtype.itemsize >= 64
            and k <= MAX_NETWORK_KSIZE.get(dtype, k))


def _index_map(n: int, radius: int, border: str) -> np.ndarray:
    """Source index of each of the ``n + 2 * radius`` padded positions; -1 for the constant."""
    if border == "constant":
        idx = np.arange(-radius, n + radius, dtype=np.int64)
        idx[(idx < 0) | (idx >= n)] = -1
        return idx
    return np.pad(np.arange(n, dtype=np.int64), radius, mode=BORDERS[border])


def _cval(cval, dtype: np.dtype):
    """``cval`` as a Python scalar of ``dtype``; it must be representable exactly."""
    value = real_number(cval, "cval")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if value != int(value) or not info.min <= value <= info.max:
            raise ValueError(f"cval must be an integer in [{info.min}, {info.max}] for a {dtype} "
                             f"image, got {cval!r}")
        return int(value)
    if dtype == np.float32 and float(np.float32(value)) != value:
        raise ValueError(f"cval must be exactly representable in float32, got {cval!r}")
    return value


def _rank_median(values: np.ndarray, k: int, rowmap: np.ndarray, colmap: np.ndarray, border: str,
                 cval: float, bands: int) -> np.ndarray:
    """Median filter of one float channel (H, W), exactly, through the ranks of its values.

    Values map to unsigned keys in float order (``-0.0 < 0.0``, NaN already rejected), each
    distinct key to its rank, the integer median filter runs on the ranks, and the median rank
    maps back to its value, bit for bit.
    """
    vals = np.ascontiguousarray(values).ravel()
    if border == "constant":
        vals = np.append(vals, np.asarray(cval, vals.dtype))
    raw = vals.view(f"u{vals.itemsize}")
    sign = raw.dtype.type(1 << 8 * vals.itemsize - 1)
    keys = np.where(raw & sign, ~raw, raw | sign)
    if keys.dtype == np.uint32:   # sort (key, index) pairs as one uint64: faster than argsort
        packed = keys.astype(np.uint64) << np.uint64(32) | np.arange(keys.size, dtype=np.uint64)
        packed.sort()
        order = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
        sorted_keys = (packed >> np.uint64(32)).astype(np.uint32)
    else:
        order = np.argsort(keys)
        sorted_keys = keys[order]
    rank_sorted = np.empty(keys.size, np.uint32)   # rank of each sorted key among distinct keys
    rank_sorted[0] = 0
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=rank_sorted[1:])
    np.cumsum(rank_sorted, out=rank_sorted)
    ranks = np.empty(keys.size, np.uint32)
    ranks[order] = rank_sorted
    distinct = int(rank_sorted[-1]) + 1
    sorted_values = np.empty(distinct, vals.dtype)
    sorted_values[rank_sorted] = vals[order]   # equal keys are equal bit patterns
    total = max(2, (distinct - 1).bit_length())
    # 16-bin middle / fine buckets scan fastest; at most 2**TOP_BITS top buckets to follow
    bits = max(min(4, total // 2), -(-(total - TOP_BITS) // 2))
    out = np.empty(values.shape, np.uint32)
    _median.median_ranks(ranks[:values.size].reshape(values.shape), rowmap, colmap, k,
                         int(ranks[-1]), bits, total, bands, out)
    return sorted_values[out]


def median_filter(image, ksize, *, border: str = "replicate", cval=0) -> np.ndarray:
    """Median of every ``ksize x ksize`` window, each channel separately.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        uint8, uint16, int16, float32 or float64; any number of channels. Any strides.
    ksize : int
        Window side: odd, ``1 <= ksize <= 65535``; it may exceed the image (the border then
        repeats, as scipy does).
    border : {"replicate", "constant", "reflect", "reflect101"}
        How the image extends beyond its edge: ``aaa|abcd|ddd``, ``cval``, ``cba|abcd|dcb``,
        ``dcb|abcd|cba`` (scipy modes ``nearest``, ``constant``, ``reflect``, ``mirror``;
        OpenCV's ``medianBlur`` uses ``replicate``).
    cval : int or float
        The constant of ``border="constant"``; must be exactly representable in the dtype.

    Returns
    -------
    out : ndarray, same shape and dtype as ``image``
        The median of every window. Float NaN is rejected (the median of a window with NaN has no
        order-consistent value; scipy and OpenCV give results that depend on the algorithm);
        ``+-inf`` are ordinary values.

    Raises
    ------
    TypeError
        Unsupported dtype (bool, complex, object, int32, ...) or non-integer ``ksize``.
    ValueError
        Even or out-of-range ``ksize``, unknown ``border``, wrong number of dimensions, NaN
        in a float image, ``cval`` not representable, or a float/16-bit window so large that
        the float filter would run for hours.
    """
    img = as_image(image, "image")
    k = integer(ksize, "ksize", low=1, high=MAX_KSIZE)
    if k % 2 == 0:
        raise ValueError(f"ksize must be odd, got {k}")
    border = choice(border, "border", BORDERS)
    cval = _cval(cval, img.dtype)
    nan_error = "image contains NaN; the median of a window with NaN is undefined"
    if img.size == 0 or k == 1:
        if img.dtype.kind == "f" and img.size and np.isnan(img.min()):   # min propagates NaN
            raise ValueError(nan_error)
        return img.copy()
    height, width, channels = img.shape[0], img.shape[1], channels_of(img)
    flat = img.reshape(height, width * channels)
    radius = k // 2
    rowmap, colmap = _index_map(height, radius, border), _index_map(width, radius, border)
    out = np.empty_like(flat)
    bands = min(height, BANDS)
    if _network(k, img.dtype, width * channels):
        if img.dtype.kind == "f":   # the networks compare float bit patterns as integer keys
            bits = np.dtype(f"u{img.dtype.itemsize}")
            cval = int(np.asarray(cval, img.dtype).view(bits))
            flat, out = flat.view(bits), out.view(bits)
        if _median.median_network(flat, rowmap, colmap, k, channels, cval, out):
            raise ValueError(nan_error)   # the networks see every value: no separate NaN pass
        out = out.view(img.dtype)
    else:
        if img.dtype.kind == "f":
            if np.isnan(img.min()):
                raise ValueError(nan_error)
            if height * width < 1 << MAX_RANK_BITS:
                for c in range(channels):
                    out[:, c::channels] = _rank_median(flat[:, c::channels], k, rowmap, colmap,
                                                       border, cval, bands)
                return out.reshape(img.shape)
            steps = img.size * k * k
            if steps > MAX_SORTED_STEPS:
                raise ValueError(f"ksize={k} on a {img.dtype} image of shape {img.shape} needs about "
                                 f"{steps:.2e} steps (limit {MAX_SORTED_STEPS:.2e}); use a smaller ksize")
        _median.median_sliding(flat, rowmap, colmap, k, channels, cval, bands, out)
    return out.reshape(img.shape)
