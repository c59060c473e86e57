"""Built-in plugin: the image family's ops (median filter, bilinear resize, PSNR, image files),
the data they run on, and the libraries they are compared with."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from shouxie import core

from ._optional import TORCH_INSTALL, require
from .hookspecs import hookimpl

#: Our border names -> scipy.ndimage modes.
SCIPY_MODES = {"replicate": "nearest", "constant": "constant", "reflect": "reflect",
               "reflect101": "mirror"}
OPENCV = "pip install opencv-python-headless"


def _full_scale(dtype: np.dtype) -> float:
    """The white level: 1.0 for floats, the largest value for integer pixels."""
    return 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max)


def synthetic_image(height: int = 256, width: int = 256, channels: int = 3, dtype: str = "uint8",
                    seed: int = 0) -> np.ndarray:
    """A deterministic test pattern: gradients, hard edges, rectangles, discs and thin lines.

    Parameters
    ----------
    height, width : int
        Image size (>= 1).
    channels : int
        0 for a 2-D ``(H, W)`` image, otherwise ``(H, W, channels)``.
    dtype : str
        uint8, uint16, int16 (0 .. full scale) or float32 / float64 (0 .. 1).
    seed : int
        Places and shades the shapes; the same seed gives the same image.
    """
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(max(channels, 1)):
        angle = rng.uniform(0, 2 * np.pi)
        img = 0.2 + 0.3 * (np.cos(angle) * xx / max(width, 1) + np.sin(angle) * yy / max(height, 1))
        for _ in range(6):   # rectangles with hard edges
            y0, x0 = rng.integers(0, height), rng.integers(0, width)
            h, w = rng.integers(1, max(2, height // 3)), rng.integers(1, max(2, width // 3))
            img[y0:y0 + h, x0:x0 + w] = rng.uniform(0, 1)
        for _ in range(4):   # discs
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            r = rng.uniform(2, max(3, min(height, width) / 5))
            img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.uniform(0, 1)
        step = max(4, width // 8)
        for x in range(step // 2, width, step):               # two-pixel lines
            img[:, x:x + 2] = 0.5 + 0.5 * (c % 2)
        planes.append(np.clip(img, 0, 1))
    img = np.stack(planes, axis=-1) if channels > 0 else planes[0]
    if dt.kind == "f":
        return img.astype(dt)
    return np.rint(img * _full_scale(dt)).astype(dt)


def noise_image(height: int = 256, width: int = 256, channels: int = 3, dtype: str = "uint8",
                seed: int = 0) -> np.ndarray:
    """Independent uniform noise over the dtype's whole range (floats: ``[0, 1)``).

    The worst case for selection-based filters (scipy's median filter is several times slower
    on it than on smooth images); network and histogram filters take the same time on any data.
    ``channels`` as in :func:`synthetic_image`.
    """
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 0 else (height, width)
    if dt.kind == "f":
        return rng.random(shape).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, int(info.max) + 1, shape, dtype=dt)


def salt_pepper(image, amount: float = 0.05, salt_vs_pepper: float = 0.5, seed: int = 0) -> np.ndarray:
    """Impulse noise: a fraction ``amount`` of the pixels (all channels of a pixel together)
    become white (salt, the dtype's full scale) or black (pepper, 0 or the dtype's minimum)."""
    img = np.array(image, copy=True)
    rng = np.random.default_rng(seed)
    hit = rng.random(img.shape[:2]) < amount
    salt = rng.random(img.shape[:2]) < salt_vs_pepper
    low = 0 if img.dtype.kind in "fu" else np.iinfo(img.dtype).min
    img[hit & salt] = _full_scale(img.dtype)
    img[hit & ~salt] = low
    return img


def psnr(image, reference, data_range: float | None = None) -> dict:
    """Peak signal-to-noise ratio of ``image`` against ``reference`` in dB (inf when equal).

    ``data_range`` defaults to the dtype's full scale (255 for uint8, 1.0 for floats).
    """
    a, b = np.asarray(image), np.asarray(reference)
    if a.shape != b.shape:
        raise ValueError(f"image and reference must have the same shape, got {a.shape} and {b.shape}")
    peak = _full_scale(b.dtype) if data_range is None else float(data_range)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return {"psnr": float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)}


def _pillow(suffix: str):
    return require("PIL.Image", needed_by=f"reading and writing {suffix} files",
                   install="pip install 'shouxie[image]' (Pillow), or save as .npy")


def load(path: str) -> np.ndarray:
    """Read an image: ``.npy`` with numpy, anything else (PNG, JPEG, ...) with Pillow."""
    file = Path(path)
    if file.suffix.lower() == ".npy":
        return np.load(file, allow_pickle=False)
    with _pillow(file.suffix).open(file) as im:
        return np.asarray(im)


def save(image, path: str) -> str:
    """Write an image and return its path: ``.npy`` keeps any array; PNG / JPEG (through Pillow)
    take uint8 ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``, and PNG also uint16 ``(H, W)``."""
    img, file = np.asarray(image), Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    if file.suffix.lower() == ".npy":
        np.save(file, img, allow_pickle=False)
        return str(file)
    Image = _pillow(file.suffix)
    gray16 = img.dtype == np.uint16 and img.ndim == 2
    if not gray16 and (img.dtype != np.uint8 or not (img.ndim == 2 or img.shape[-1] in (3, 4))):
        raise ValueError(f"{file.suffix} files hold uint8 (H, W), (H, W, 3) or (H, W, 4) images "
                         f"(or uint16 (H, W)); got {img.dtype} {img.shape}; convert it or save as .npy")
    Image.fromarray(img).save(file)
    return str(file)


def median_filter(image, ksize: int = 3, border: str = "replicate", cval=0) -> np.ndarray:
    """Median filter (shouxie.core.median_filter)."""
    return core.median_filter(image, ksize, border=border, cval=cval)


def resize_bilinear(image, size=None, scale=None, mode: str = "half_pixel") -> np.ndarray:
    """Bilinear resize (shouxie.core.resize_bilinear)."""
    return core.resize_bilinear(image, size, scale=scale, mode=mode)


def cv2_median_blur(image, ksize: int = 3, border: str = "replicate", cval=0) -> np.ndarray:
    """OpenCV cv2.medianBlur (replicate border only; uint8 for ksize > 5)."""
    cv2 = require("cv2", needed_by="ref.cv2_median_blur", install=OPENCV)
    if border != "replicate":
        raise ValueError(f"cv2.medianBlur only has the replicate border, got {border!r}")
    return cv2.medianBlur(np.ascontiguousarray(image), ksize).reshape(np.shape(image))


def scipy_median_filter(image, ksize: int = 3, border: str = "replicate", cval=0) -> np.ndarray:
    """scipy.ndimage.median_filter with the matching mode, channels filtered separately."""
    ndimage = require("scipy.ndimage", needed_by="ref.scipy_median_filter", install="pip install scipy")
    image = np.asarray(image)
    size = (ksize, ksize, 1)[:image.ndim]
    return ndimage.median_filter(image, size=size, mode=SCIPY_MODES[border], cval=cval)


def cv2_resize(image, size=None, scale=None, mode: str = "half_pixel") -> np.ndarray:
    """OpenCV cv2.resize with INTER_LINEAR (half_pixel mode only)."""
    cv2 = require("cv2", needed_by="ref.cv2_resize", install=OPENCV)
    if mode != "half_pixel":
        raise ValueError(f"cv2.resize INTER_LINEAR is the half_pixel mode, got {mode!r}")
    image = np.asarray(image)
    if size is not None:
        out = cv2.resize(image, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)
    else:
        fy, fx = (scale, scale) if np.isscalar(scale) else scale
        out = cv2.resize(image, None, fx=fx, fy=fy, interpolation=cv2.INTER_LINEAR)
    return out.reshape(out.shape[:2] + image.shape[2:])


def torch_interpolate(image, size=None, scale=None, mode: str = "half_pixel") -> np.ndarray:
    """torch.nn.functional.interpolate(mode="bilinear") on an (H, W[, C]) numpy image."""
    torch = require("torch", needed_by="ref.torch_interpolate", install=TORCH_INSTALL)
    if mode not in ("half_pixel", "align_corners"):
        raise ValueError(f"torch bilinear has the half_pixel and align_corners modes, got {mode!r}")
    image = np.asarray(image)
    x = torch.from_numpy(np.ascontiguousarray(image.reshape(image.shape[:2] + (-1,)))).permute(2, 0, 1)
    kwargs = {"size": tuple(int(s) for s in size)} if size is not None else {
        "scale_factor": (scale, scale) if np.isscalar(scale) else tuple(scale)}
    out = torch.nn.functional.interpolate(x[None], mode="bilinear",
                                          align_corners=mode == "align_corners", **kwargs)
    out = out[0].permute(1, 2, 0).numpy()
    return out.reshape(out.shape[:2] + image.shape[2:])


@hookimpl
def shouxie_register_ops(registry):
    registry.add("data.synthetic_image", synthetic_image)
    registry.add("data.noise_image", noise_image)
    registry.add("data.salt_pepper", salt_pepper)
    registry.add("image.median_filter", median_filter)
    registry.add("image.resize_bilinear", resize_bilinear)
    registry.add("image.psnr", psnr)
    registry.add("image.load", load)
    registry.add("image.save", save)
    registry.add("ref.cv2_median_blur", cv2_median_blur)
    registry.add("ref.scipy_median_filter", scipy_median_filter)
    registry.add("ref.cv2_resize", cv2_resize)
    registry.add("ref.torch_interpolate", torch_interpolate)
