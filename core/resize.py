"""Bilinear resize with ONNX coordinate modes, OpenCV-exact for uint8.

Output pixel ``d`` of an axis samples source coordinate ``s(d)``:

* ``half_pixel`` (OpenCV ``INTER_LINEAR``, torch ``align_corners=False``): ``(d + 0.5) * r - 0.5``
* ``align_corners`` (torch ``align_corners=True``): ``d * (in - 1) / (out - 1)``
* ``asymmetric`` (the notes' ``x / a``): ``d * r``

with ``r = in / out`` for an explicit ``size`` and ``r = 1 / scale`` for a ``scale`` (as OpenCV and
torch do). Taps outside the image read the edge pixel. Like OpenCV, coordinates are computed in float32 for
uint8 (and float32 images one pixel high or wide), in float64 otherwise.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _resize
from ._validation import allocation, as_image, channels_of, choice, integer, real_number

MODES = ("half_pixel", "align_corners", "asymmetric")
#: OpenCV's INTER_RESIZE_COEF_BITS: uint8 weights are integers summing to 2**11.
COEF_SCALE = 2**11
#: Output row bands: the units of parallel work.
BANDS = 8


def _pair(x, name: str, check, *, scalar: bool) -> tuple:
    """``x`` as a ``(y, x)`` pair validated by ``check``; a scalar counts for both axes if allowed."""
    if scalar and isinstance(x, (numbers.Number, np.generic)):
        x = (x, x)
    if not isinstance(x, (tuple, list, np.ndarray)) or len(x) != 2:
        what = "a number or a pair (y, x)" if scalar else "a pair (out_h, out_w)"
        raise ValueError(f"{name} must be {what}, got {x!r}")
    return tuple(check(v, name) for v in x)


def _output_shape(in_hw, size, scale):
    """Output ``(out_h, out_w)`` and the source-per-output ratio of each axis."""
    if (size is None) == (scale is None):
        raise ValueError("give exactly one of size=(out_h, out_w) or scale")
    if size is not None:
        out_hw = _pair(size, "size", lambda v, n: integer(v, n, low=1), scalar=False)
        return out_hw, tuple(i / o for i, o in zip(in_hw, out_hw))
    factors = _pair(scale, "scale", lambda v, n: real_number(v, n, low=0, low_open=True), scalar=True)
    sides = [i * f for i, f in zip(in_hw, factors)]
    if max(sides) >= 2**62:
        raise ValueError(f"scale={scale!r} on a {in_hw[0]}x{in_hw[1]} image gives an absurd output size "
                         f"{tuple(sides)}")
    out_hw = tuple(int(np.rint(s)) for s in sides)   # OpenCV: cvRound
    if min(out_hw) < 1:
        raise ValueError(f"scale={scale!r} on a {in_hw[0]}x{in_hw[1]} image gives a zero-size "
                         f"output {out_hw}")
    return out_hw, tuple(1.0 / f for f in factors)


def _taps(n_in: int, n_out: int, ratio: float, mode: str, coord_dtype):
    """Both source indices and the fraction towards the second of every output position.

    Like OpenCV, the fraction is not clamped at the edges: a coordinate outside the image blends
    two copies of the edge pixel (the same value; it matters only for uint8 rounding).
    """
    d = np.arange(n_out, dtype=np.float64)
    if mode == "half_pixel":
        src = (d + 0.5) * ratio - 0.5
    elif mode == "align_corners":
        src = d * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = d * ratio
    src = src.astype(coord_dtype)
    i0 = np.floor(src)
    frac = src - i0
    i0 = i0.astype(np.int64)
    return np.clip(i0, 0, n_in - 1), np.clip(i0 + 1, 0, n_in - 1), frac


#: The byte-permutation tables of ``_resize.resize_rows`` when there are none.
NO_BLOCKS = (np.empty(0, np.int32), np.empty(0, np.uint8), np.empty(0, np.int16))


def _blocks(xofs0: np.ndarray, xofs1: np.ndarray, alpha0: np.ndarray,
            alpha1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The uint8 byte-permutation pass's tables (see ``_resize.resize_rows``): per block of 64
    outputs the first source element it reads, per output its taps relative to that and its
    weights. ``NO_BLOCKS`` when the CPU lacks the permutations or a block's taps span 64 bytes
    or more (strong downscaling)."""
    if not _resize.BLOCKS:
        return NO_BLOCKS
    n, size = xofs0.size, -(-xofs0.size // 64) * 64
    rel: np.ndarray = np.empty((2, size), np.int32)   # both taps; a partial last block repeats its last ones
    rel[0, :n], rel[0, n:], rel[1, :n], rel[1, n:] = xofs0, xofs0[-1], xofs1, xofs1[-1]
    rel = rel.reshape(2, -1, 64)
    base = rel[0].min(axis=1)
    rel -= base[:, None]
    if rel.max() >= 64:
        return NO_BLOCKS
    taps = np.full((size, 4), 64, np.uint8)   # 64: the first of the 64 zero bytes after the window
    taps[:, 0], taps[:, 2] = rel[0].ravel(), rel[1].ravel()
    weights = np.zeros((size, 2), np.int16)
    weights[:n, 0], weights[:n, 1] = alpha0, alpha1
    return base, taps.ravel(), weights.ravel()


def resize_bilinear(image: ArrayLike, size: tuple[int, int] | None = None, *,
                    scale: float | tuple[float, float] | None = None, mode: str = "half_pixel") -> NDArray[Any]:
    """Resize an image by bilinear interpolation.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        uint8, uint16, int16, float32 or float64; any number of channels; any strides.
        ``H`` and ``W`` must be >= 1.
    size : (int, int), optional
        ``(out_h, out_w)``, numpy order (OpenCV's ``dsize`` is ``(w, h)``). Each >= 1. An output
        of the input's size is a copy of it (also when a ``scale`` rounds to it), as in OpenCV
        and torch.
    scale : float or (float, float), optional
        Factor ``f`` or ``(fy, fx)`` > 0. The output side is ``round(in * f)`` (half to even, as
        OpenCV) and must be >= 1; source coordinates use ``1 / f``. Give ``size`` or ``scale``.
    mode : {"half_pixel", "align_corners", "asymmetric"}
        Coordinate mapping, by ONNX name (see the module docstring).

    Returns
    -------
    out : ndarray, shape (out_h, out_w) or (out_h, out_w, C), the dtype of ``image``
        uint8 uses OpenCV's fixed point (11-bit weights, its vectorised rounding; bit-exact with
        ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)`` of OpenCV 5.0); uint16 and
        int16 interpolate in float32 then round half to even and saturate; floats stay floats.

    Raises
    ------
    TypeError
        Unsupported dtype, non-integer size.
    ValueError
        Both or neither of ``size`` / ``scale``, a zero-size input or output, an output larger
        than the machine's memory (refused before allocating), unknown ``mode``, wrong number
        of dimensions.
    """
    img = as_image(image, "image")
    mode = choice(mode, "mode", MODES)
    in_hw = img.shape[:2]
    if min(in_hw) < 1:
        raise ValueError(f"image must have H and W >= 1 to interpolate, got shape {img.shape}")
    (out_h, out_w), (ry, rx) = _output_shape(in_hw, size, scale)
    channels = channels_of(img)
    out_shape = (out_h, out_w) + img.shape[2:]
    if channels == 0:
        return np.empty(out_shape, dtype=img.dtype)
    # the output (float32 for 16-bit images) and the taps of every output column and row
    allocation(out_h * out_w * channels * max(4, img.dtype.itemsize) + (out_w * channels + out_h) * 40,
               f"{'size' if size is not None else 'scale'}: an output of {out_h} x {out_w} x {channels}")
    if (out_h, out_w) == in_hw:   # as OpenCV and torch: same size is a copy, whatever the scale
        return img.copy()
    if img.shape[1] * channels >= 2**31:
        raise ValueError(f"image rows of {img.shape[1] * channels} elements are too long (< 2**31)")
    flat = img.reshape(in_hw[0], in_hw[1] * channels)
    if mode == "half_pixel" and ry == rx == 2.0 and img.dtype in (np.uint8, np.float32, np.float64):
        out = np.empty((out_h, out_w * channels), dtype=img.dtype)
        _resize.resize_half(flat, channels, channels in (1, 3, 4), out)
        return out.reshape(out_shape)
    # OpenCV 5 computes source coordinates in float32 for uint8 and for images one pixel high or
    # wide, in float64 otherwise; following it keeps float32 within ~3e-5 of cv2.resize. float64
    # images always get float64 coordinates (the definition, and torch's float64 result).
    thin_f32 = img.dtype == np.float32 and min(in_hw) == 1
    coord = np.float32 if img.dtype == np.uint8 or thin_f32 else np.float64
    x0, x1, fx = _taps(in_hw[1], out_w, rx, mode, coord)
    y0, y1, fy = _taps(in_hw[0], out_h, ry, mode, coord)
    lane = np.arange(channels)
    xofs0 = (x0[:, None] * channels + lane).ravel().astype(np.int32)
    xofs1 = (x1[:, None] * channels + lane).ravel().astype(np.int32)
    y0, y1 = y0.astype(np.int32), y1.astype(np.int32)
    bands = min(out_h, BANDS)
    if img.dtype == np.uint8:
        one, coef = np.float32(1), np.float32(COEF_SCALE)
        ax0 = np.rint((one - fx) * coef).astype(np.int16)
        ax1 = np.rint(fx * coef).astype(np.int16)
        ay0 = np.rint((one - fy) * coef).astype(np.int16)
        ay1 = np.rint(fy * coef).astype(np.int16)
        ax0, ax1 = np.repeat(ax0, channels), np.repeat(ax1, channels)
        out = np.empty((out_h, out_w * channels), dtype=np.uint8)
        _resize.resize_rows(flat, channels, xofs0, xofs1, ax0, ax1, *_blocks(xofs0, xofs1, ax0, ax1),
                            y0, y1, ay0, ay1, bands, out)
        return out.reshape(out_shape)
    work = flat if img.dtype.kind == "f" else flat.astype(np.float32)
    fx, fy = fx.astype(work.dtype), fy.astype(work.dtype)
    one = work.dtype.type(1)
    out = np.empty((out_h, out_w * channels), dtype=work.dtype)
    _resize.resize_rows(work, channels, xofs0, xofs1, np.repeat(one - fx, channels),
                        np.repeat(fx, channels), *NO_BLOCKS, y0, y1, one - fy, fy, bands, out)
    if img.dtype.kind in "iu":
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(img.dtype)
    return out.reshape(out_shape)
