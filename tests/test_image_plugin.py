import sys

import numpy as np
import pytest

from shouxie.plugins import collect_ops
from shouxie.plugins import image as image_plugin

OPS = ["data.synthetic_image", "data.noise_image", "data.salt_pepper", "image.median_filter", "image.resize_bilinear",
       "image.psnr", "image.load", "image.save", "ref.cv2_median_blur", "ref.scipy_median_filter",
       "ref.cv2_resize", "ref.torch_interpolate"]


def test_ops_registered(pm):
    registry = collect_ops(pm)
    for name in OPS:
        assert name in registry
        assert registry.get(name).plugin == "shouxie.plugins.image"


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
def test_synthetic_image_is_deterministic(dtype):
    a = image_plugin.synthetic_image(40, 60, 3, dtype, seed=1)
    assert a.shape == (40, 60, 3) and a.dtype == dtype
    np.testing.assert_array_equal(a, image_plugin.synthetic_image(40, 60, 3, dtype, seed=1))
    assert not np.array_equal(a, image_plugin.synthetic_image(40, 60, 3, dtype, seed=2))
    assert image_plugin.synthetic_image(10, 12, 0, dtype).shape == (10, 12)
    assert a.min() >= 0 and a.max() <= (1 if dtype.startswith("float") else np.iinfo(dtype).max)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "float64"])
def test_noise_image_spans_the_range(dtype):
    a = image_plugin.noise_image(200, 300, 3, dtype, seed=1)
    assert a.shape == (200, 300, 3) and a.dtype == dtype
    np.testing.assert_array_equal(a, image_plugin.noise_image(200, 300, 3, dtype, seed=1))
    assert image_plugin.noise_image(10, 12, 0, dtype).shape == (10, 12)
    low, high = (0, 1) if dtype.startswith("float") else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    span = (float(high) - float(low))
    assert a.min() >= low and a.max() <= high
    assert a.min() < low + 0.01 * span and a.max() > high - 0.01 * span   # the whole range
    assert abs(float(a.mean()) - (float(low) + span / 2)) < 0.01 * span


def test_salt_pepper_and_median_recovers_psnr():
    clean = image_plugin.synthetic_image(64, 64, 3, seed=0)
    noisy = image_plugin.salt_pepper(clean, amount=0.1, seed=0)
    hit = (noisy != clean).any(axis=-1)
    assert 0.05 < hit.mean() < 0.15
    assert set(np.unique(noisy[hit])) <= {0, 255}
    before = image_plugin.psnr(noisy, clean)["psnr"]
    after = image_plugin.psnr(image_plugin.median_filter(noisy, 3), clean)["psnr"]
    assert after > before + 3


def test_psnr_values():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    assert image_plugin.psnr(a, b)["psnr"] == float("inf")
    b[0, 0] = 16                                   # mse = 16**2 / 16 = 16
    assert image_plugin.psnr(b, a)["psnr"] == pytest.approx(10 * np.log10(255**2 / 16))
    assert image_plugin.psnr(b.astype(float), a.astype(float), data_range=255)["psnr"] == pytest.approx(
        10 * np.log10(255**2 / 16))
    with pytest.raises(ValueError, match="same shape"):
        image_plugin.psnr(a, a[:2])


def test_npy_round_trip(tmp_path):
    a = np.random.default_rng(0).normal(size=(5, 6, 2)).astype(np.float32)
    path = image_plugin.save(a, str(tmp_path / "sub" / "a.npy"))
    np.testing.assert_array_equal(image_plugin.load(path), a)


@pytest.mark.parametrize("shape, dtype", [((7, 9), np.uint8), ((7, 9, 3), np.uint8),
                                          ((7, 9, 4), np.uint8), ((7, 9), np.uint16)])
def test_png_round_trip(tmp_path, shape, dtype):
    pytest.importorskip("PIL")
    a = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape).astype(dtype)
    np.testing.assert_array_equal(image_plugin.load(image_plugin.save(a, str(tmp_path / "a.png"))), a)


def test_png_rejects_float(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(ValueError, match="convert it or save as .npy"):
        image_plugin.save(np.zeros((4, 4), np.float32), str(tmp_path / "a.png"))


def test_missing_pillow_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'shouxie\[image\]'"):
        image_plugin.save(np.zeros((4, 4), np.uint8), str(tmp_path / "a.png"))
    with pytest.raises(ImportError, match="Pillow"):
        image_plugin.load(str(tmp_path / "a.jpg"))


@pytest.mark.parametrize("border", ["replicate", "constant", "reflect", "reflect101"])
def test_ref_scipy_agrees(border):
    pytest.importorskip("scipy")
    a = image_plugin.synthetic_image(30, 20, 3, seed=3)
    np.testing.assert_array_equal(image_plugin.scipy_median_filter(a, 5, border, 9),
                                  image_plugin.median_filter(a, 5, border, 9))


def test_ref_cv2_agrees():
    pytest.importorskip("cv2")
    a = image_plugin.salt_pepper(image_plugin.synthetic_image(30, 20, 3, seed=3), 0.1)
    np.testing.assert_array_equal(image_plugin.cv2_median_blur(a, 7), image_plugin.median_filter(a, 7))
    with pytest.raises(ValueError, match="only has the replicate border"):
        image_plugin.cv2_median_blur(a, 3, border="reflect")
    for kwargs in ({"size": (45, 17)}, {"scale": 1.5}, {"scale": (0.5, 2.0)}):
        np.testing.assert_array_equal(image_plugin.cv2_resize(a, **kwargs),
                                      image_plugin.resize_bilinear(a, **kwargs))
    gray = a[..., :1]
    assert image_plugin.cv2_resize(gray, scale=2).shape == (60, 40, 1)


def test_ref_torch_agrees():
    pytest.importorskip("torch")
    a = image_plugin.synthetic_image(30, 20, 3, dtype="float64", seed=3)
    for mode in ("half_pixel", "align_corners"):
        np.testing.assert_allclose(image_plugin.torch_interpolate(a, size=(45, 17), mode=mode),
                                   image_plugin.resize_bilinear(a, size=(45, 17), mode=mode), atol=1e-9)
    with pytest.raises(ValueError, match="half_pixel and align_corners"):
        image_plugin.torch_interpolate(a, size=(4, 4), mode="asymmetric")
