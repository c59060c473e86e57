"""Median filter for 2-D images with OpenCV / scipy border modes.

The median of every ``ksize x ksize`` window, channel by channel. The algorithm is chosen by
window size and dtype, in one place (``_plan``; the kernels are in :mod:`._median_network` and
:mod:`._median_sliding`): min/max networks for ``ksize`` 3 (hand-made) and 5 to 21 (generated at
build time; uint8 up to 15; rows of at least 64 bytes), float64 from 17 on the ranks of its
values, which need 8, 16 or 32 bits; beyond them Perreault-Hebert constant-time histograms for
uint8, Huang's two-level sliding histogram for 16-bit, and for floats a three-level Huang
histogram on the ranks of the values (sorted sliding windows beyond ``2**24`` pixels per
channel). Results equal ``scipy.ndimage.median_filter(image, size=(k, k[, 1]), mode=...)``
exactly and ``cv2.medianBlur`` wherever OpenCV accepts the input. (scipy's ``reflect`` mode
reads outside the image once the radius reaches twice a side; there shouxie follows the
definition.)
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _median_network, _median_sliding
from ._validation import IMAGE_DTYPES, as_array, as_image, channels_of, choice, integer, real_number

#: border name -> ``numpy.pad`` mode giving the source index of every padded index.
BORDERS: dict[str, Literal["edge", "constant", "symmetric", "reflect"]] = {
    "replicate": "edge",         # aaa|abcd|ddd   scipy "nearest", cv2.BORDER_REPLICATE
    "constant": "constant",      # kkk|abcd|kkk   scipy "constant", cv2.BORDER_CONSTANT
    "reflect": "symmetric",      # cba|abcd|dcb   scipy "reflect", cv2.BORDER_REFLECT
    "reflect101": "reflect",     # dcb|abcd|cba   scipy "mirror", cv2.BORDER_REFLECT_101
}
#: Largest side filtered by a generated network for the types with none beyond it (the build
#: compiles those sides for 16- and 32-bit keys only): uint8, whose constant-time histograms are
#: faster there (at k = 17 on 1080p 34 ms against 32 ms on a test pattern), and float64, filtered
#: from ``NARROW_KSIZE`` on the ranks of its values (by histograms for an image too wide for them).
MAX_NETWORK_KSIZE = dict.fromkeys(map(np.dtype, ["uint8", "float64"]), _median_network.ALL_KEYS_MAX_SIDE)
#: float64 windows from this side (the first without 64-bit networks) up to the largest network
#: are filtered on the ranks of the values (``_narrow_median``), about ``RANK_BAND`` at a time.
NARROW_KSIZE = _median_network.ALL_KEYS_MAX_SIDE + 2
RANK_BAND = 1 << 19
#: uint32 ranks up to here read as float32 bits are non-negative floats in the same order.
MAX_FLOAT32_RANK = (1 << 31) - (1 << 23)
#: Largest window side: column histograms count in uint16.
MAX_KSIZE = 65535
#: The sorted-window algorithm does about ``ksize**2`` steps per pixel; refuse work beyond this.
MAX_SORTED_STEPS = 2**36
#: The histograms are (re)built from ``ksize**2`` values, for every output row (16-bit, float) or
#: band (uint8): wasted work when the window is wider than the image, refused beyond this many
#: steps (seconds, not hours).
MAX_REBUILD_STEPS = 2**30
#: Float images rank their values; histograms of up to ``2**MAX_RANK_BITS`` ranks, with at
#: most ``2**TOP_BITS`` top-level buckets (the median's top bucket is followed bucket by bucket).
MAX_RANK_BITS = 24
TOP_BITS = 10
#: Row bands per channel: the units of parallel work of the sliding filters.
BANDS = 8
#: The error for NaN in a float image, wherever it is found.
NAN_ERROR = "image contains NaN; the median of a window with NaN is undefined"


def _plan(ksize: int, dtype: np.dtype, shape: tuple[int, ...]) -> str:
    """The algorithm for ``ksize`` windows over an image of ``dtype`` and ``shape`` (H, W[, C]).

    ``"network"``: min/max networks (k = 3, and the generated sides for rows of 64 bytes and
    more, uint8 up to ``MAX_NETWORK_KSIZE``); ``"narrow"``: float64 from ``NARROW_KSIZE`` to the
    largest network, the networks on the ranks of the values; ``"ranks"``: other floats up to
    ``2**MAX_RANK_BITS`` pixels per channel, a sliding histogram of the ranks; ``"sorted"``:
    larger float images, sorted sliding windows; ``"histogram"``: integers beyond the networks,
    sliding histograms (Perreault-Hebert for uint8, Huang for 16-bit). The kernels trust it.
    """
    height, width = shape[0], shape[1]
    row = width * (shape[2] if len(shape) == 3 else 1)
    sides = _median_network.NETWORK_SIDES
    if dtype == np.float64 and NARROW_KSIZE <= ksize <= max(sides) and ksize * row < MAX_FLOAT32_RANK:
        return "narrow"   # every band's ranks fit
    if ksize == 3 or (ksize in sides and row * dtype.itemsize >= 64
                      and ksize <= MAX_NETWORK_KSIZE.get(dtype, ksize)):
        return "network"
    if dtype.kind == "f":
        return "ranks" if height * width < 1 << MAX_RANK_BITS else "sorted"
    return "histogram"


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


def _dense_ranks(values: np.ndarray, cval: float, border: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The rank of every float value among the distinct values, in float order (``-0.0 < 0.0``).

    Returns the ranks (uint32, shaped like ``values``), the distinct values in order, so that
    ``distinct[ranks]`` is ``values`` bit for bit, and the rank of ``cval`` (0 unless the border is
    constant). NaN raises ``ValueError``.
    """
    vals = np.ascontiguousarray(values).ravel()
    if border == "constant":
        vals = np.append(vals, np.asarray(cval, vals.dtype))
    bits, size = np.dtype(f"u{vals.itemsize}"), vals.size
    # outputs and scratch in one allocation: numpy maps 4 MiB and more with huge pages, where
    # separate buffers would fault page by page on every call
    work = np.empty((2 * vals.itemsize + 8) * size, np.uint8)
    distinct, keys = work[:2 * vals.itemsize * size].view(bits).reshape(2, size)
    ranks, index = work[2 * vals.itemsize * size:].view(np.uint32).reshape(2, size)
    count = _median_sliding.dense_ranks(vals.view(bits), ranks, distinct, keys, index)
    if count < 0:
        raise ValueError(NAN_ERROR)
    crank = int(ranks[-1]) if border == "constant" else 0
    return ranks[:values.size].reshape(values.shape), distinct[:count].view(values.dtype), crank


def _rank_median(values: np.ndarray, k: int, rowmap: np.ndarray, colmap: np.ndarray, border: str,
                 cval: float, bands: int) -> np.ndarray:
    """Median filter of one float channel (H, W), exactly, by a sliding histogram of its ranks."""
    ranks, distinct, crank = _dense_ranks(values, cval, border)
    total = max(2, (distinct.size - 1).bit_length())
    # 16-bin middle / fine buckets scan fastest; at most 2**TOP_BITS top buckets to follow
    bits = max(min(4, total // 2), -(-(total - TOP_BITS) // 2))
    out = np.empty(values.shape, np.uint32)
    _median_sliding.median_ranks(ranks, rowmap, colmap, k, crank, bits, total, bands, out)
    return distinct[out]


def _narrow_median(flat: np.ndarray, rowmap: np.ndarray, colmap: np.ndarray, k: int,
                   channels: int, border: str, cval: float, out: np.ndarray) -> None:
    """Median filter of a float64 image (H, W * C) through the ranks of its values, held in the
    narrowest type that holds them: uint8, uint16, else float32 (``MAX_FLOAT32_RANK``). The
    networks then compare half as many bytes or less, and the median ranks map back to the
    values bit for bit. Band by band of output rows, each ranking the rows it reads (about
    ``RANK_BAND`` values, a sort that stays in cache)."""
    height, radius = out.shape[0], k // 2
    rows = max(1, RANK_BAND // flat.shape[1] - 2 * radius)
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        src = rowmap[y0:y1 + 2 * radius]
        lo, hi = src[src >= 0].min(), src.max() + 1   # the band's own rows are among them
        ranks, distinct, rank = _dense_ranks(flat[lo:hi], cval, border)
        crank: float = rank
        if distinct.size <= 1 << 16:
            ranks = ranks.astype(np.uint8 if distinct.size <= 1 << 8 else np.uint16)
        else:
            ranks, crank = ranks.view(np.float32), float(np.uint32(rank).view(np.float32))
        median = np.empty((y1 - y0, flat.shape[1]), ranks.dtype)
        _filter(ranks, np.where(src >= 0, src - lo, -1), colmap, k, channels, border, crank,
                median)
        # every median rank is in range; mode="raise" would write through a copy of out
        np.take(distinct, median.view(f"u{median.itemsize}"), out=out[y0:y1], mode="clip")


def _filter(flat: np.ndarray, rowmap: np.ndarray, colmap: np.ndarray, k: int, channels: int,
            border: str, cval, out: np.ndarray) -> None:
    """Median filter of ``flat`` (H', W * C) into ``out`` (H, W * C); ``rowmap`` (H + k - 1) and
    ``colmap`` (W + k - 1) give the source row / column of every padded one, -1 the constant."""
    dtype, width = flat.dtype, out.shape[1] // channels
    plan = _plan(k, dtype, (flat.shape[0], width, channels))
    if plan == "narrow":
        _narrow_median(flat, rowmap, colmap, k, channels, border, cval, out)
        return
    if plan == "network":
        if dtype.kind == "f":   # the networks compare float bit patterns as integer keys
            bits = np.dtype(f"u{dtype.itemsize}")
            cval = int(np.asarray(cval, dtype).view(bits))
            flat, out = flat.view(bits), out.view(bits)
        if _median_network.median_network(flat, rowmap, colmap, k, channels, cval, out):
            raise ValueError(NAN_ERROR)   # the networks see every value: no separate NaN pass
        return
    bands = min(out.shape[0], BANDS)
    rebuilds = out.shape[0] * channels * k * k
    if k > width and rebuilds > MAX_REBUILD_STEPS:
        raise ValueError(f"ksize={k} is wider than the {width}-column image: building its window "
                         f"histograms would take {rebuilds:.2e} steps (limit {MAX_REBUILD_STEPS:.2e}); "
                         "use a smaller ksize")
    if plan == "ranks":
        for c in range(channels):
            out[:, c::channels] = _rank_median(flat[:, c::channels], k, rowmap, colmap, border,
                                               cval, bands)
        return
    if plan == "sorted":
        if np.isnan(flat.min()):
            raise ValueError(NAN_ERROR)
        steps = out.size * k * k
        if steps > MAX_SORTED_STEPS:
            raise ValueError(f"ksize={k} on a {dtype} image of {out.size} values needs about "
                             f"{steps:.2e} steps (limit {MAX_SORTED_STEPS:.2e}); use a smaller ksize")
    _median_sliding.median_sliding(flat, rowmap, colmap, k, channels, cval, bands, out)


def _integer_median(values: np.ndarray, ksize, border: str, cval) -> np.ndarray:
    """Median filter of an integer image without a kernel of its own (int8, int32, int64,
    uint32, uint64), exactly: filter the dense ranks of its values (uint16 up to 2**16 distinct
    values, else float64, exact for any image that fits in memory) and map the median ranks
    back to their values (in native byte order, as for every dtype)."""
    values = values.astype(values.dtype.newbyteorder("="), copy=False)
    if isinstance(cval, (int, np.integer)) and not isinstance(cval, (bool, np.bool_)):
        info = np.iinfo(values.dtype)   # compared exactly: int64 constants beyond 2**53 too
        if not info.min <= int(cval) <= info.max:
            raise ValueError(f"cval must be an integer in [{info.min}, {info.max}] for a {values.dtype} "
                             f"image, got {cval!r}")
        cval = int(cval)
    else:
        cval = _cval(cval, values.dtype)
    pool = values.ravel()
    if border == "constant":
        pool = np.append(pool, np.asarray(cval, values.dtype))
    distinct, ranks = np.unique(pool, return_inverse=True)
    ranks = ranks.astype(np.uint16 if distinct.size <= 1 << 16 else np.float64)
    crank = ranks[-1] if border == "constant" else 0
    out = median_filter(ranks[:values.size].reshape(values.shape), ksize, border=border, cval=crank)
    return distinct[out.astype(np.intp)]


def median_filter(image: ArrayLike, ksize: int, *, border: str = "replicate", cval: float = 0) -> NDArray[Any]:
    """Median of every ``ksize x ksize`` window, each channel separately.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        uint8, uint16, int16, float32 or float64, or another integer type (int8, int32,
        int64, uint32, uint64: filtered exactly through the ranks of its values); any number
        of channels. Any strides.
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
        Unsupported dtype (bool, float16, complex, object, ...) or non-integer ``ksize``.
    ValueError
        Even or out-of-range ``ksize``, unknown ``border``, wrong number of dimensions, NaN
        in a float image, ``cval`` not representable, or a float/16-bit window so large that
        the float filter would run for hours, or a window so much wider than the image that
        building its histograms would (``MAX_REBUILD_STEPS``).
    """
    arr = as_array(image, "image")
    if arr.dtype.kind in "iu" and arr.dtype.newbyteorder("=") not in IMAGE_DTYPES:
        return _integer_median(arr, ksize, border, cval)
    img = as_image(arr, "image")
    k = integer(ksize, "ksize", low=1, high=MAX_KSIZE)
    if k % 2 == 0:
        raise ValueError(f"ksize must be odd, got {k}")
    border = choice(border, "border", BORDERS)
    cval = _cval(cval, img.dtype)
    if img.size == 0 or k == 1:
        if img.dtype.kind == "f" and img.size and np.isnan(img.min()):   # min propagates NaN
            raise ValueError(NAN_ERROR)
        return img.copy()
    height, width, channels = img.shape[0], img.shape[1], channels_of(img)
    flat = img.reshape(height, width * channels)
    rowmap, colmap = _index_map(height, k // 2, border), _index_map(width, k // 2, border)
    out = np.empty_like(flat)
    _filter(flat, rowmap, colmap, k, channels, border, cval, out)
    return out.reshape(img.shape)
