"""``scipy.ndimage.median_filter`` mapped onto :func:`shouxie.core.median_filter`.

shouxie filters 2-D images (and (H, W, C) channel stacks) with odd square windows and four
borders. A 1-D signal maps exactly onto a one-row image for the borders that repeat the row
(a k x k window then holds every value of the 1-D window k times); with the constant border
the square window would read rows of ``cval``, so that case does not map. What does not map
(other modes, footprints, origins, axes, non-square windows) raises :class:`Unsupported`.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
from scipy import ndimage as _ndimage

from shouxie import core

#: scipy mode -> shouxie border
BORDERS = {"nearest": "replicate", "constant": "constant", "reflect": "reflect", "mirror": "reflect101"}


class Unsupported(NotImplementedError):
    """The reference's feature has no shouxie counterpart (a documented difference)."""


def _side(size, footprint, ndim: int) -> int:
    """The square window side from scipy's ``size`` / ``footprint``."""
    if footprint is not None:
        fp = np.asarray(footprint, dtype=bool)
        if not fp.all() or len(set(fp.shape)) != 1:
            raise Unsupported("median_filter: a footprint that is not a full square window")
        size = fp.shape
    sides = [int(s) for s in np.broadcast_to(np.asarray(size), (ndim,))]
    if ndim == 3 and sides[2] == 1:   # (H, W, C) with a (k, k, 1) window: channel by channel
        sides = sides[:2]
    if len(set(sides)) != 1:
        raise Unsupported(f"median_filter: window {tuple(sides)} is not square")
    return sides[0]


def median_filter(input, size=None, footprint=None, output=None, mode="reflect", cval=0.0, origin=0, *,
                  axes=None):
    """``scipy.ndimage.median_filter`` on shouxie: 2-D odd square windows, four borders."""
    if not isinstance(mode, str) or mode not in BORDERS:
        raise Unsupported(f"median_filter: mode {mode!r} (shouxie borders: {sorted(BORDERS)})")
    if np.any(np.asarray(origin) != 0) or axes is not None:
        raise Unsupported("median_filter: origin / axes")
    image = np.asarray(input)
    if image.ndim == 1:
        if mode == "constant":
            raise Unsupported("median_filter: a 1-D signal with the constant border")
        result = core.median_filter(image[None, :], _side(size, footprint, 1), border=BORDERS[mode],
                                    cval=cval)[0]
    elif image.ndim in (2, 3):
        result = core.median_filter(image, _side(size, footprint, image.ndim), border=BORDERS[mode], cval=cval)
    else:
        raise Unsupported(f"median_filter: {image.ndim}-D input")
    if output is None:
        return result
    if isinstance(output, np.ndarray):
        output[...] = result
        return output
    return result.astype(output)


class _NdimageWithShouxieMedian(ModuleType):
    """``scipy.ndimage`` with ``median_filter`` replaced; every other name is scipy's."""

    median_filter = staticmethod(median_filter)

    def __getattr__(self, name):
        return getattr(_ndimage, name)


ndimage = _NdimageWithShouxieMedian("scipy.ndimage")
