import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shouxie.core import resize_bilinear


def plain_bilinear(image, out_h, out_w, mode, ratio=None):
    """The definition, one output pixel at a time, in float64 (taps outside read the edge)."""
    image = np.asarray(image, np.float64)
    h, w = image.shape[:2]
    ry, rx = ratio or (h / out_h, w / out_w)

    def coord(d, n_in, n_out, r):
        if mode == "half_pixel":
            return (d + 0.5) * r - 0.5
        if mode == "align_corners":
            return d * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return d * r

    out = np.zeros((out_h, out_w) + image.shape[2:])
    for oy in range(out_h):
        sy = coord(oy, h, out_h, ry)
        y0 = int(np.floor(sy))
        fy = sy - y0
        for ox in range(out_w):
            sx = coord(ox, w, out_w, rx)
            x0 = int(np.floor(sx))
            fx = sx - x0

            def px(y, x):
                return image[min(max(y, 0), h - 1), min(max(x, 0), w - 1)]

            out[oy, ox] = ((1 - fy) * ((1 - fx) * px(y0, x0) + fx * px(y0, x0 + 1))
                           + fy * ((1 - fx) * px(y0 + 1, x0) + fx * px(y0 + 1, x0 + 1)))
    return out


SHAPES = [(37, 53, 3), (20, 31), (9, 7, 4), (16, 16, 1), (5, 3, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.5, 0.5, 0.37, 2.0, 0.75, 3.3])
def test_uint8_bit_exact_with_cv2(shape, scale):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    got = resize_bilinear(image, scale=scale)
    ref = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


@pytest.mark.parametrize("size", [(1, 1), (1, 40), (40, 1), (60, 17), (100, 130), (18, 26)])
def test_uint8_sizes_bit_exact_with_cv2(size):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(1).integers(0, 256, (36, 52, 3), dtype=np.uint8)
    got = resize_bilinear(image, size)
    ref = cv2.resize(image, size[::-1], interpolation=cv2.INTER_LINEAR)
    assert got.shape == size + (3,)
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(31, 200), (17, 131), (40, 333), (25, 128), (12, 110)])
@pytest.mark.parametrize("mode", ["half_pixel", "align_corners", "asymmetric"])
def test_uint8_byte_permutation_pass_equals_plain_pass(monkeypatch, channels, size, mode):
    # The 64-byte block pass (AVX-512 VBMI) against the per-element pass, on widths whose last
    # block is partial and whose last window runs into the end of the image; bit-exact with cv2
    # where cv2 has the mode.
    from shouxie.core import _resize
    if not _resize.BLOCKS:
        pytest.skip("built without AVX-512 VBMI: no block pass")
    image = np.random.default_rng(channels).integers(0, 256, (23, 97, channels), dtype=np.uint8)
    blocks = []
    resize_rows = _resize.resize_rows

    def spy(*args):
        blocks.append(len(args[6]))   # base: one entry per block of 64 outputs, or none
        return resize_rows(*args)

    monkeypatch.setattr(_resize, "resize_rows", spy)
    got = resize_bilinear(image, size, mode=mode)
    assert blocks == [-(-size[1] * channels // 64)]   # these sizes take the block pass
    monkeypatch.setattr(_resize, "BLOCKS", False)
    np.testing.assert_array_equal(got, resize_bilinear(image, size, mode=mode))
    if mode == "half_pixel" and channels != 2:
        cv2 = pytest.importorskip("cv2")
        ref = cv2.resize(image, size[::-1], interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(got, ref.reshape(got.shape))


def test_uint8_half_pixel_at_full_hd_against_cv2():
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(2).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    for scale in (1.5, 0.5):
        got = resize_bilinear(image, scale=scale).astype(int)
        ref = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        assert np.abs(got - ref).max() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.5, 0.5, 0.37, 2.5])
def test_float_matches_cv2(dtype, scale):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(3).uniform(0, 255, (120, 170, 3)).astype(dtype)
    got = resize_bilinear(image, scale=scale)
    assert got.dtype == dtype
    ref = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.sampled_from([1, 3]), st.integers(1, 50),
       st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_fuzz_float32_against_cv2(h, w, c, out_h, out_w, seed):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(seed).uniform(0, 255, (h, w, c)).astype(np.float32)
    got = resize_bilinear(image, (out_h, out_w))
    ref = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_LINEAR).reshape(got.shape)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_16_bit_matches_cv2_within_one(dtype):
    cv2 = pytest.importorskip("cv2")
    info = np.iinfo(dtype)
    image = np.random.default_rng(4).integers(info.min, int(info.max) + 1, (40, 60, 2)).astype(dtype)
    got = resize_bilinear(image, scale=1.7)
    ref = cv2.resize(image, None, fx=1.7, fy=1.7, interpolation=cv2.INTER_LINEAR)
    assert got.dtype == dtype
    assert np.abs(got.astype(int) - ref.astype(int)).max() <= 1


@pytest.mark.parametrize("mode", ["half_pixel", "align_corners"])
@pytest.mark.parametrize("size", [(27, 41), (8, 9), (1, 1), (50, 3)])
def test_float64_matches_torch(mode, size):
    torch = pytest.importorskip("torch")
    image = np.random.default_rng(5).uniform(0, 255, (19, 23, 3))
    got = resize_bilinear(image, size, mode=mode)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    ref = torch.nn.functional.interpolate(x, size=size, mode="bilinear",
                                          align_corners=mode == "align_corners")
    np.testing.assert_allclose(got, ref[0].permute(1, 2, 0).numpy(), rtol=0, atol=1e-9)


def test_float32_matches_torch_on_exact_scales():
    # torch computes float32 source coordinates in float32 and OpenCV in float64; they differ
    # by up to ~1e-4 px at 1080p, so only scales whose coordinates are exact agree to 1e-4.
    torch = pytest.importorskip("torch")
    image = np.random.default_rng(6).uniform(0, 255, (64, 96, 3)).astype(np.float32)
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    for size in [(128, 192), (32, 48), (256, 48)]:
        ref = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        np.testing.assert_allclose(resize_bilinear(image, size), ref[0].permute(1, 2, 0).numpy(),
                                   rtol=0, atol=1e-4)


@pytest.mark.parametrize("mode", ["half_pixel", "align_corners", "asymmetric"])
@pytest.mark.parametrize("size", [(7, 11), (3, 2), (1, 5), (12, 4)])
def test_float64_matches_definition(mode, size):
    image = np.random.default_rng(7).uniform(-5, 5, (5, 6, 2))
    np.testing.assert_allclose(resize_bilinear(image, size, mode=mode),
                               plain_bilinear(image, *size, mode), rtol=0, atol=1e-12)


def test_scale_uses_inverse_factor_and_rounds_size():
    image = np.random.default_rng(8).uniform(0, 1, (5, 7))
    got = resize_bilinear(image, scale=(1.3, 0.5))
    assert got.shape == (round(5 * 1.3), 4)        # 6.5 -> 6, 3.5 -> 4: half to even, as OpenCV
    np.testing.assert_allclose(got, plain_bilinear(image, 6, 4, "half_pixel", (1 / 1.3, 2.0)),
                               atol=1e-12)


def test_asymmetric_is_the_notes_mapping():
    image = np.arange(4.0).reshape(1, 4)
    np.testing.assert_allclose(resize_bilinear(image, (1, 8), mode="asymmetric"),
                               [[0, 0.5, 1, 1.5, 2, 2.5, 3, 3]])


def test_identity_size_is_a_copy():
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(9).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    for mode in ("half_pixel", "align_corners", "asymmetric"):
        np.testing.assert_array_equal(resize_bilinear(image, (13, 17), mode=mode), image)
    got = resize_bilinear(image, scale=1.01)          # rounds to the same size: OpenCV copies
    assert got is not image
    np.testing.assert_array_equal(got, image)
    np.testing.assert_array_equal(got, cv2.resize(image, None, fx=1.01, fy=1.01))


def test_non_contiguous_and_negative_strides():
    base = np.random.default_rng(10).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    for view in (base[::-1, ::2], base[:, ::-1, 1], base.transpose(1, 0, 2), base[..., ::-1]):
        np.testing.assert_array_equal(resize_bilinear(view, scale=1.5),
                                      resize_bilinear(view.copy(), scale=1.5))


def test_byte_swapped_input():
    image = np.random.default_rng(11).uniform(0, 1, (6, 7, 3)).astype(">f8")
    np.testing.assert_array_equal(resize_bilinear(image, (9, 5)),
                                  resize_bilinear(image.astype(np.float64), (9, 5)))


def test_zero_channels():
    assert resize_bilinear(np.zeros((4, 5, 0), np.uint8), (8, 10)).shape == (8, 10, 0)


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((), {}, ValueError, "give exactly one of size"),
    (((4, 4),), {"scale": 2}, ValueError, "give exactly one of size"),
    (((0, 5),), {}, ValueError, "size must be >= 1"),
    (((5, -1),), {}, ValueError, "size must be >= 1"),
    (((2.5, 3),), {}, TypeError, "size must be an integer"),
    ((5,), {}, ValueError, "size must be a pair"),
    (((1, 2, 3),), {}, ValueError, "size must be a pair \\(out_h, out_w\\)"),
    ((), {"scale": 0}, ValueError, "scale must be > 0"),
    ((), {"scale": -1.5}, ValueError, "scale must be > 0"),
    ((), {"scale": float("inf")}, ValueError, "scale must be finite"),
    ((), {"scale": 1e-6}, ValueError, "zero-size output"),
    ((), {"scale": "2"}, ValueError, "scale must be a number or a pair"),
    ((), {"scale": (2, None)}, TypeError, "scale must be a real number"),
    (((4, 4),), {"mode": "bicubic"}, ValueError, "mode must be one of"),
])
def test_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        resize_bilinear(np.zeros((8, 8, 3), np.uint8), *args, **kwargs)


@pytest.mark.parametrize("image, error, message", [
    (np.zeros((2, 3, 4, 5), np.uint8), ValueError, "image must have shape"),
    (np.zeros((0, 5, 3), np.uint8), ValueError, "image must have H and W >= 1"),
    (np.zeros((4, 4), bool), TypeError, "got bool"),
    (np.zeros((4, 4), complex), TypeError, "got complex128"),
    (np.zeros((4, 4), object), TypeError, "got object"),
])
def test_bad_images(image, error, message):
    with pytest.raises(error, match=message):
        resize_bilinear(image, (3, 3))


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 15), st.integers(1, 15), st.sampled_from([None, 1, 2, 3, 4]),
       st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_fuzz_uint8_against_cv2(h, w, c, out_h, out_w, seed):
    cv2 = pytest.importorskip("cv2")
    shape = (h, w) if c is None else (h, w, c)
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    got = resize_bilinear(image, (out_h, out_w))
    ref = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 15), st.integers(1, 15), st.sampled_from([None, 1, 2, 3, 4, 5]),
       st.integers(0, 2**32 - 1))
def test_fuzz_halving_against_cv2(h, w, c, seed):
    # OpenCV takes its area path for a factor of exactly 0.5, odd sizes included.
    cv2 = pytest.importorskip("cv2")
    shape = (h, w) if c is None else (h, w, c)
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    got = resize_bilinear(image, scale=0.5) if min(h, w) > 1 else None
    if got is not None:
        ref = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(got, ref.reshape(got.shape))
        np.testing.assert_allclose(resize_bilinear(image.astype(np.float64), scale=0.5),
                                   plain_bilinear(image, *got.shape[:2], "half_pixel", (2.0, 2.0)),
                                   atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 9), st.integers(1, 9),
       st.sampled_from(["half_pixel", "align_corners", "asymmetric"]), st.integers(0, 2**32 - 1))
def test_fuzz_float64_against_definition(h, w, out_h, out_w, mode, seed):
    image = np.random.default_rng(seed).normal(size=(h, w, 2))
    np.testing.assert_allclose(resize_bilinear(image, (out_h, out_w), mode=mode),
                               plain_bilinear(image, out_h, out_w, mode), rtol=0, atol=1e-12)


@pytest.mark.parametrize("width", [2, 3, 31, 32, 33, 34, 63, 95, 96, 97, 130])
def test_uint8_rgb_halving_every_tail(width):
    # the 16-pixel blocks of the RGB halving, with every kind of last block, against the
    # definition (mean of each 2 x 2 block, half up) and cv2
    image = np.random.default_rng(width).integers(0, 256, (5, width, 3), dtype=np.uint8)
    got = resize_bilinear(image, scale=0.5)
    blocks = image[:4, :width // 2 * 2].reshape(2, 2, width // 2, 2, 3).astype(int)
    expected = (blocks.sum(axis=(1, 3)) + 2) >> 2
    np.testing.assert_array_equal(got[:2, :width // 2], expected)
    cv2 = pytest.importorskip("cv2")
    ref = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(got, ref.reshape(got.shape))


@pytest.mark.parametrize("width", [2, 3, 31, 32, 33, 34, 63, 65, 66, 67, 130])
def test_float32_rgb_halving_every_tail(width):
    # the 16-pixel blocks of the float32 RGB halving against the definition, summed in its order
    image = np.random.default_rng(width).normal(0, 100, (5, width, 3)).astype(np.float32)
    got = resize_bilinear(image, scale=0.5)
    half = width // 2
    r0, r1 = image[0:4:2, :2 * half], image[1:4:2, :2 * half]
    expected = ((r0[:, 0::2] + r0[:, 1::2]) + (r1[:, 0::2] + r1[:, 1::2])) * np.float32(0.25)
    np.testing.assert_array_equal(got[:2, :half], expected)
