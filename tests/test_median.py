import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from shouxie.core import _median_network, _median_sliding, median, median_filter

ndimage = pytest.importorskip("scipy.ndimage")

SCIPY_MODES = {"replicate": "nearest", "constant": "constant", "reflect": "reflect",
               "reflect101": "mirror"}
DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


def random_image(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.normal(0, 100, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def scipy_median(image, k, border, cval=0):
    size = (k, k, 1)[:image.ndim]
    return ndimage.median_filter(image, size=size, mode=SCIPY_MODES[border], cval=cval)


def plain_median(image, k, border, cval=0):
    """The definition: pad (numpy.pad's modes), then the middle of every sorted window."""
    mode = {"replicate": "edge", "constant": "constant", "reflect": "symmetric",
            "reflect101": "reflect"}[border]
    pad = [(k // 2, k // 2)] * 2 + [(0, 0)] * (image.ndim - 2)
    kwargs = {"constant_values": cval} if border == "constant" else {}
    windows = sliding_window_view(np.pad(image, pad, mode=mode, **kwargs), (k, k), axis=(0, 1))
    flat = windows.reshape(windows.shape[:-2] + (k * k,))
    return np.sort(flat, axis=-1)[..., k * k // 2]


def scipy_reflect_is_broken(shape, k, border):
    # scipy's rank filters read outside the image in "reflect" mode once the radius reaches
    # twice a side (offsets that are multiples of -2 * side map to index -1): see the notes.
    return border == "reflect" and k // 2 >= 2 * min(shape[:2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 9, 11, 13])
@pytest.mark.parametrize("border", list(SCIPY_MODES))
def test_equals_scipy(dtype, ksize, border):
    rng = np.random.default_rng(ksize)
    for shape in [(11, 13, 2), (9, 7)]:
        image = random_image(rng, shape, dtype)
        got = median_filter(image, ksize, border=border, cval=5)
        assert got.dtype == image.dtype and got.shape == image.shape
        np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ksize", [3, 5, 7])
def test_rows_around_block_and_vector_lengths(dtype, ksize):
    # the loops run blocks of whole vectors, the last one overlapping the one before
    rng = np.random.default_rng(ksize)
    for width in [63, 64, 65, 127, 1023, 1024, 1025, 1087, 2100]:
        image = random_image(rng, (5, width), dtype)
        np.testing.assert_array_equal(median_filter(image, ksize),
                                      scipy_median(image, ksize, "replicate"))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("border", list(SCIPY_MODES))
@pytest.mark.parametrize("ksize", [3, 5, 9, 21])
def test_ksize_larger_than_image(dtype, border, ksize):
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (2, 3, 3), (4, 1)]:
        image = random_image(rng, shape, dtype)
        got = median_filter(image, ksize, border=border, cval=2)
        np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=2))
        if not scipy_reflect_is_broken(shape, ksize, border):
            np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=2))


@pytest.mark.parametrize("ksize", [3, 5, 7, 9, 15])
def test_equals_cv2_uint8(ksize):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(ksize).integers(0, 256, (40, 53, 3), dtype=np.uint8)
    np.testing.assert_array_equal(median_filter(image, ksize), cv2.medianBlur(image, ksize))
    gray = image[..., 0].copy()
    np.testing.assert_array_equal(median_filter(gray, ksize), cv2.medianBlur(gray, ksize))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("ksize", [3, 5])
def test_equals_cv2_wider_types(dtype, ksize):
    cv2 = pytest.importorskip("cv2")
    image = random_image(np.random.default_rng(0), (31, 45, 4), dtype)
    np.testing.assert_array_equal(median_filter(image, ksize), cv2.medianBlur(image, ksize))


def test_network_exhaustive_on_binary_windows():
    # 0-1 principle: a comparator network selects the median of every input iff it does for
    # every 0/1 input. k=3: all 2**9 windows. k=5: the network runs on sorted columns, so all
    # 6**5 windows whose columns are sorted cover it (the column sort is a plain 5-sorter).
    windows3 = np.array(list(itertools.product([0, 1], repeat=9)), dtype=np.uint8).reshape(-1, 3, 3)
    columns = [np.array([0] * (5 - t) + [1] * t) for t in range(6)]
    windows5 = np.array([np.stack(cols, axis=1) for cols in itertools.product(columns, repeat=5)],
                        dtype=np.uint8)
    for k, windows in ((3, windows3), (5, windows5)):
        image = np.concatenate(list(windows), axis=1)        # k x (k * n), window i at column k*i
        centres = median_filter(image, k)[k // 2, k // 2::k]
        expected = (windows.reshape(len(windows), -1).sum(axis=1) > k * k // 2).astype(np.uint8)
        np.testing.assert_array_equal(centres, expected)



def test_network3_pair_exhaustive_on_binary_windows():
    # k = 3 runs two output rows at once (rows 2 and 3 here, windows rows 1..3 and 2..4): every
    # 0/1 filling of rows 1..4 (2**12), windows side by side.
    blocks = np.array(list(itertools.product([0, 1], repeat=12)), np.uint8).reshape(-1, 4, 3)
    windows = np.zeros((len(blocks), 6, 3), np.uint8)
    windows[:, 1:5] = blocks
    image = windows.transpose(1, 0, 2).reshape(6, -1)
    got = median_filter(image, 3)[2:4, 1::3]
    np.testing.assert_array_equal(got[0], blocks[:, 0:3].sum(axis=(1, 2)) > 4)
    np.testing.assert_array_equal(got[1], blocks[:, 1:4].sum(axis=(1, 2)) > 4)

def pair_image(shared_ones, top, bottom, k):
    """Windows side by side, each one pair of vertically adjacent windows (output rows y, y + 1):
    the k - 1 shared rows have ``shared_ones`` ones per column (sorted), the rows above and
    below are the 0/1 rows ``top`` and ``bottom``. Returns the image and y."""
    r = k // 2
    y = r + r % 2                                    # even: the kernel pairs rows (0, 1), (2, 3), ...
    windows = np.zeros((len(top), y + r + 2, k), np.uint8)
    windows[:, y - r + 1:y + r + 1] = np.arange(k - 1)[None, :, None] >= k - 1 - shared_ones[:, None, :]
    windows[:, y - r] = top
    windows[:, y + r + 1] = bottom
    return windows.transpose(1, 0, 2).reshape(windows.shape[1], -1), y


@pytest.mark.parametrize("k", [5, 7])
def test_pair_network_exhaustive_on_column_sorted_binary_windows(k):
    # k = 5 and 7 run two output rows at once: the k - 1 rows their windows share are
    # column-sorted, a network picks k + 1 candidates from them, and each window adds its own
    # k-th row through a k-sorter. 0-1 principle: with the sorters correct, every column-sorted
    # 0/1 shared part (k**k) with every sorted 0/1 row above / below (k + 1 each) covers the rest.
    row = np.arange(k)[None, :]
    rest = np.array(list(itertools.product(range(k), repeat=k - 1)))       # ones per column
    for first in range(k):                           # chunks, to bound memory
        ones = np.repeat(np.column_stack([np.full(len(rest), first), rest]), k + 1, axis=0)
        top = np.tile(np.arange(k + 1), len(rest))                         # ones in the row above
        bottom = (top + 3) % (k + 1)                                      # ones in the row below
        image, y = pair_image(ones, row >= k - top[:, None], row >= k - bottom[:, None], k)
        got = median_filter(image, k)[y:y + 2, k // 2::k]
        shared = ones.sum(axis=1)
        np.testing.assert_array_equal(got[0], shared + top > k * k // 2)
        np.testing.assert_array_equal(got[1], shared + bottom > k * k // 2)


@pytest.mark.parametrize("k", [5, 7])
def test_pair_row_sorter_on_every_binary_row(k):
    # The k-sorter of a window's own row, on all 2**k rows, against shared parts of
    # (k*k)//2 - k + 1 .. (k*k)//2 ones (so each rank of the sorted row decides the median once).
    rows = np.array(list(itertools.product([0, 1], repeat=k)), np.uint8)
    for shared in range(k * k // 2 - k + 1, k * k // 2 + 1):
        ones = np.array([[shared // k + (i < shared % k) for i in range(k)]] * len(rows))
        image, y = pair_image(ones, rows, rows, k)
        got = median_filter(image, k)[y:y + 2, k // 2::k]
        expected = shared + rows.sum(axis=1) > k * k // 2
        np.testing.assert_array_equal(got[0], expected)
        np.testing.assert_array_equal(got[1], expected)

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ksize", [9, 15, 31])
@pytest.mark.parametrize("border", list(SCIPY_MODES))
def test_float_large_ksize_ranks(dtype, ksize, border):
    # the rank path: many ties, negative values, a cval absent from the image, 1 and 3 channels
    rng = np.random.default_rng(ksize)
    for shape in [(37, 41, 3), (20, 33), (3, 2)]:
        image = rng.normal(0, 1, shape).astype(dtype)
        image[rng.random(shape) < 0.3] = -0.25
        image[rng.random(shape) < 0.1] = np.float32(1e30)
        got = median_filter(image, ksize, border=border, cval=-7.5)
        assert got.dtype == image.dtype and got.shape == image.shape
        np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=-7.5))
        if not scipy_reflect_is_broken(shape, ksize, border):
            np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=-7.5))


def test_float_many_distinct_values():
    # over 2**18 distinct values: wider middle / fine buckets under the capped top level
    image = np.random.default_rng(3).normal(0, 1, (520, 521))
    got = median_filter(image, 9, border="reflect101")
    np.testing.assert_array_equal(got, scipy_median(image, 9, "reflect101"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ksize", [3, 5, 7, 9, 15])
def test_float_specials(dtype, ksize):
    image = np.random.default_rng(0).normal(0, 1, (12, 10)).astype(dtype)
    image[2, 3], image[5, 5], image[7, 1], image[0, 0] = np.inf, -np.inf, -0.0, -1e-30
    got = median_filter(image, ksize)
    np.testing.assert_array_equal(got, scipy_median(image, ksize, "replicate"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("where", [(0, 0), (2, 3), (4, 6)])
@pytest.mark.parametrize("nan", [np.nan, -np.nan, "payload"])
def test_nan_is_rejected(dtype, ksize, where, nan):
    image = np.zeros((5, 7, 2), dtype)
    if nan == "payload":   # a NaN with other mantissa bits and the sign set
        bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
        nan = np.array(-np.inf, dtype).view(bits) | bits.type(1)
        nan = nan.view(dtype)
    image[where + (1,)] = nan
    assert np.isnan(image).sum() == 1
    with pytest.raises(ValueError, match="image contains NaN"):
        median_filter(image, ksize)


def test_salt_and_pepper_removed():
    image = np.full((20, 20), 100, np.uint8)
    noisy = image.copy()
    noisy[5, 5], noisy[10, 12] = 255, 0
    np.testing.assert_array_equal(median_filter(noisy, 3), image)


def test_constant_border_cval():
    image = np.full((4, 4), 7, np.int16)
    got = median_filter(image, 3, border="constant", cval=-3)
    assert got[0, 0] == -3 and got[0, 1] == 7 and got[1, 1] == 7
    got = median_filter(image, 5, border="constant", cval=-3)
    assert got[0, 0] == -3 and got[1, 1] == 7


@pytest.mark.parametrize("ksize", [3, 7])
def test_non_contiguous_and_negative_strides(ksize):
    base = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    for view in (base[::-1, ::2], base[:, ::-1, 1], base.transpose(1, 0, 2), base[3:20:3, 5:35:2, ::-1]):
        np.testing.assert_array_equal(median_filter(view, ksize), median_filter(view.copy(), ksize))
        np.testing.assert_array_equal(median_filter(view, ksize), scipy_median(view.copy(), ksize, "replicate"))


def test_byte_swapped_input():
    image = np.random.default_rng(0).integers(0, 60000, (9, 8, 2)).astype(">u2")
    got = median_filter(image, 3)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, scipy_median(image.astype(np.uint16), 3, "replicate"))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0, 3), (4, 4, 0), (0, 0)])
def test_empty(shape):
    out = median_filter(np.zeros(shape, np.uint8), 3)
    assert out.shape == shape and out.dtype == np.uint8


def test_accepts_nested_lists():
    got = median_filter([[1.0, 9, 2], [3, 4, 5]], 3)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[3, 3, 4], [3, 4, 5]])   # worked by hand


@pytest.mark.parametrize("kwargs, error, message", [
    ({"ksize": 4}, ValueError, "ksize must be odd, got 4"),
    ({"ksize": 0}, ValueError, "ksize must be >= 1"),
    ({"ksize": -3}, ValueError, "ksize must be >= 1"),
    ({"ksize": 3.0}, TypeError, "ksize must be an integer"),
    ({"ksize": True}, TypeError, "ksize must be an integer"),
    ({"ksize": 10**9 + 1}, ValueError, "ksize must be <= 65535"),
    ({"ksize": 3, "border": "wrap"}, ValueError, "border must be one of"),
    ({"ksize": 3, "border": "constant", "cval": 300}, ValueError, "cval must be an integer in \\[0, 255\\]"),
    ({"ksize": 3, "border": "constant", "cval": 0.5}, ValueError, "cval must be an integer"),
    ({"ksize": 3, "cval": "a"}, TypeError, "cval must be a real number"),
    ({"ksize": 3, "cval": float("nan")}, ValueError, "cval must be finite"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        median_filter(np.zeros((5, 5), np.uint8), **kwargs)


@pytest.mark.parametrize("image, error, message", [
    (np.zeros((2, 3, 4, 5), np.uint8), ValueError, "image must have shape \\(H, W\\) or \\(H, W, C\\)"),
    (np.zeros(5, np.uint8), ValueError, "image must have shape"),
    (np.zeros((4, 4), bool), TypeError, "image must have dtype .*; got bool"),
    (np.zeros((4, 4), complex), TypeError, "got complex128"),
    (np.zeros((4, 4), object), TypeError, "got object"),
    (np.zeros((4, 4), np.float16), TypeError, "got float16"),
])
def test_bad_images(image, error, message):
    with pytest.raises(error, match=message):
        median_filter(image, 3)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32, np.uint64, ">i4"])
@pytest.mark.parametrize("ksize", [3, 5, 9])
@pytest.mark.parametrize("border", list(SCIPY_MODES))
def test_other_integer_types_exact(dtype, ksize, border):
    # no kernel of their own: filtered through the ranks of their values, exactly, dtype kept.
    # scipy agrees up to 32 bits; on 64-bit integers beyond 2**53 it rounds through float64
    rng = np.random.default_rng(ksize)
    info = np.iinfo(dtype)
    for shape in [(11, 13, 2), (9, 7)]:
        image = rng.integers(info.min, info.max, shape, dtype=np.dtype(dtype).newbyteorder("="),
                             endpoint=True).astype(dtype)
        image.flat[::7] = info.max   # extremes, beyond float64's exact integers for 64 bits
        cval = int(info.min) + 1
        got = median_filter(image, ksize, border=border, cval=cval)
        assert got.dtype == image.dtype.newbyteorder("=") and got.shape == image.shape
        np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=cval))
        if image.dtype.itemsize <= 4 and image.dtype.isnative:
            np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=cval))


def test_other_integer_types_with_many_values():
    # over 2**16 distinct values: float64 ranks; the values are multiples of 3**30 (> 2**47)
    image = np.arange(300 * 250, dtype=np.int64).reshape(300, 250) * 3 ** 30
    np.random.default_rng(0).shuffle(image.reshape(-1))
    np.testing.assert_array_equal(median_filter(image, 5, border="reflect101"),
                                  plain_median(image, 5, "reflect101"))


def test_huge_window_on_float_refused_not_hung():
    # beyond 2**24 pixels per channel floats fall back to sorted windows, which refuse this
    with pytest.raises(ValueError, match="use a smaller ksize"):
        median_filter(np.zeros((4097, 4096), np.float32), 1001)


def test_huge_window_float_is_exact():
    image = np.random.default_rng(0).normal(0, 1, (6, 5, 2))
    for border in SCIPY_MODES:
        np.testing.assert_array_equal(median_filter(image, 301, border=border, cval=0.5),
                                      plain_median(image, 301, border, cval=0.5))


def test_huge_window_uint8_is_exact():
    image = np.random.default_rng(0).integers(0, 256, (6, 5), dtype=np.uint8)
    for border in SCIPY_MODES:
        np.testing.assert_array_equal(median_filter(image, 301, border=border),
                                      plain_median(image, 301, border))


images = st.tuples(
    st.sampled_from(DTYPES),
    st.integers(1, 12), st.integers(1, 12), st.sampled_from([None, 1, 3]),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=150, deadline=None)
@given(images, st.sampled_from([1, 3, 5, 7, 9, 11, 13, 17]), st.sampled_from(list(SCIPY_MODES)))
def test_fuzz_against_scipy(spec, ksize, border):
    dtype, h, w, c, seed = spec
    shape = (h, w) if c is None else (h, w, c)
    rng = np.random.default_rng(seed)
    image = random_image(rng, shape, dtype)
    if rng.random() < 0.5:   # many ties
        image = (image // 64 if np.dtype(dtype).kind != "f" else np.round(image / 64)).astype(dtype)
    got = median_filter(image, ksize, border=border, cval=1)
    np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=1))
    if not scipy_reflect_is_broken(shape, ksize, border):
        np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=1))


# --------------------------------------------------------------------------- ranks
def float_order_keys(values):
    """Unsigned keys of float bits in float order, -0.0 below 0.0 (flip negatives, set the sign)."""
    bits = values.view(f"u{values.itemsize}")
    sign = bits.dtype.type(1 << (8 * values.itemsize - 1))
    return np.where(bits & sign, ~bits, bits | sign)


RANK_SAMPLES = {
    "noise": lambda rng, dtype: rng.normal(0, 1, (300, 7)).astype(dtype),
    "ties": lambda rng, dtype: rng.integers(-3, 4, (50, 3)).astype(dtype),
    "specials": lambda rng, dtype: np.array(
        [0.0, -0.0, np.inf, -np.inf, 1e-40, -1e-40, 1.0, -0.0, 0.0, np.inf], dtype),
    "equal": lambda rng, dtype: np.full(9, 2.5, dtype),
    "single": lambda rng, dtype: np.array([-1.5], dtype),
    "empty": lambda rng, dtype: np.zeros(0, dtype),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sample", list(RANK_SAMPLES))
@pytest.mark.parametrize("border", ["replicate", "constant"])
def test_dense_ranks_equal_unique(dtype, sample, border):
    values = RANK_SAMPLES[sample](np.random.default_rng(0), dtype)
    cval = 0.75
    ranks, distinct, crank = median._dense_ranks(values, cval, border)
    everything = np.append(values.ravel(), dtype(cval)) if border == "constant" else values.ravel()
    unique, inverse = np.unique(float_order_keys(everything), return_inverse=True)
    assert ranks.dtype == np.uint32 and ranks.shape == values.shape
    np.testing.assert_array_equal(ranks.ravel(), inverse[:values.size])
    np.testing.assert_array_equal(float_order_keys(distinct), unique)
    assert crank == (inverse[-1] if border == "constant" else 0)
    np.testing.assert_array_equal(distinct[ranks].view(f"u{values.itemsize}"),
                                  values.view(f"u{values.itemsize}"))   # bit for bit


def test_dense_ranks_nan_and_lengths():
    values = np.array([1.0, np.nan, 2.0])
    bufs = [np.empty(3, np.uint32), np.empty(3, np.uint64), np.empty(3, np.uint64),
            np.empty(3, np.uint32)]
    assert _median_sliding.dense_ranks(values.view(np.uint64), *bufs) == -1
    with pytest.raises(ValueError, match="contains NaN"):
        median._dense_ranks(values, 0.0, "replicate")
    with pytest.raises(ValueError, match="length of values"):
        _median_sliding.dense_ranks(values.view(np.uint64), np.empty(2, np.uint32), *bufs[1:])


@pytest.fixture
def narrow_types(monkeypatch):
    """The dtypes the float64 rank path filtered (it spies on ``median._filter``)."""
    if max(_median_network.NETWORK_SIDES) < median.NARROW_KSIZE:
        pytest.skip("no float64 rank path: this CPU variant has no generated networks")
    seen, filter_ = [], median._filter

    def spy(flat, *args):
        if flat.dtype != np.float64:   # the image itself is planned "narrow" first
            seen.append(flat.dtype)
        return filter_(flat, *args)

    monkeypatch.setattr(median, "_filter", spy)
    return seen


@pytest.mark.parametrize("distinct, narrow", [(200, np.uint8), (3000, np.uint16)])
@pytest.mark.parametrize("ksize", [median.NARROW_KSIZE, max(_median_network.NETWORK_SIDES)])
@pytest.mark.parametrize("border", list(SCIPY_MODES))
def test_float64_ranks_narrow_types(distinct, narrow, ksize, border, monkeypatch, narrow_types):
    # bands of about 3000 values: several bands, each ranking its own rows; a 1-channel
    # image whose rows are too short for networks; an image shorter than the window
    monkeypatch.setattr(median, "RANK_BAND", 3000)
    rng = np.random.default_rng(distinct + ksize)
    for shape in [(45, 37, 3), (40, 9), (6, 30, 2)]:
        image = rng.choice(rng.normal(0, 1, distinct), shape)
        image.flat[:4] = [0.0, -0.0, np.inf, -np.inf]
        got = median_filter(image, ksize, border=border, cval=-7.5)
        np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=-7.5))
    assert set(narrow_types) == {np.dtype(narrow)}
    assert len(narrow_types) > 3


@pytest.mark.parametrize("border", ["reflect101", "constant"])
@pytest.mark.parametrize("band", [None, 150_000])
def test_float64_ranks_as_float32(border, band, monkeypatch, narrow_types):
    # over 2**16 distinct values per band: uint32 ranks filtered as float32 bit patterns
    if band:
        monkeypatch.setattr(median, "RANK_BAND", band)
    image = np.random.default_rng(1).normal(0, 1, (300, 300, 3))
    got = median_filter(image, median.NARROW_KSIZE, border=border, cval=0.125)
    np.testing.assert_array_equal(got, scipy_median(image, median.NARROW_KSIZE, border, cval=0.125))
    assert set(narrow_types) == {np.dtype(np.float32)}
    assert len(narrow_types) == (2 if band else 1)


# --------------------------------------------------------------------------- generated networks
WIDE_SIDES = [k for k in _median_network.NETWORK_SIDES if k > 3]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ksize", WIDE_SIDES)
def test_generated_networks_equal_scipy(dtype, ksize):
    # rows of whole vectors and not, odd and even heights, heights below ksize, every border
    rng = np.random.default_rng(ksize)
    lanes = 64 // np.dtype(dtype).itemsize
    shapes = [(ksize + 3, lanes + 5), (2 * ksize, 2 * lanes), (5, lanes // 3 + 9, 3)]
    for shape, border in zip(shapes * 2, list(SCIPY_MODES) * 2):
        image = random_image(rng, shape, dtype)
        if rng.random() < 0.5:   # many ties
            image = (image // 64 if np.dtype(dtype).kind != "f" else np.round(image / 64)).astype(dtype)
        network = ksize <= median.MAX_NETWORK_KSIZE.get(image.dtype, ksize)
        narrow = image.dtype == np.float64 and ksize >= median.NARROW_KSIZE
        assert median._plan(ksize, image.dtype, image.shape) == (
            "narrow" if narrow else "network" if network else "histogram")
        got = median_filter(image, ksize, border=border, cval=3)
        np.testing.assert_array_equal(got, plain_median(image, ksize, border, cval=3))
        if not scipy_reflect_is_broken(shape, ksize, border):
            np.testing.assert_array_equal(got, scipy_median(image, ksize, border, cval=3))


@pytest.mark.parametrize("ksize", [k for k in WIDE_SIDES if k > _median_network.ALL_KEYS_MAX_SIDE])
def test_no_8_or_64_bit_networks_of_the_largest_sides(ksize):
    # the build compiles them for 16- and 32-bit keys only: the kernel refuses the others
    # before touching out, which the planner never gives it
    image = np.arange(2 * ksize * 64, dtype=np.uint64).reshape(2 * ksize, 64)
    rowmap = np.clip(np.arange(-(ksize // 2), 2 * ksize + ksize // 2), 0, 2 * ksize - 1)
    colmap = np.clip(np.arange(-(ksize // 2), 64 + ksize // 2), 0, 63)
    assert median._plan(ksize, np.dtype(np.uint8), image.shape) == "histogram"
    assert median._plan(ksize, np.dtype(np.float64), (1, 2**31)) == "sorted"   # too wide to rank
    for dtype in (np.uint8, np.uint64):
        out = np.zeros(image.shape, dtype)
        with pytest.raises(ValueError, match=f"ksize={ksize}: this build has no network"):
            _median_network.median_network(image.astype(dtype), rowmap, colmap, ksize, 1, 0, out)
        assert not out.any()
    got = np.empty(image.shape, np.uint16)
    _median_network.median_network(image.astype(np.uint16), rowmap, colmap, ksize, 1, 0, got)
    np.testing.assert_array_equal(got, plain_median(image.astype(np.uint16), ksize, "replicate"))


@pytest.mark.parametrize("ksize", [median.NARROW_KSIZE, 21])
def test_float64_too_wide_for_its_ranks_takes_the_histograms(ksize, monkeypatch):
    # rows so wide that their ranks would overflow float32 (here: a lowered limit) are not
    # filtered on ranks, nor by a 64-bit network (none is compiled beyond ALL_KEYS_MAX_SIDE)
    monkeypatch.setattr(median, "MAX_FLOAT32_RANK", 1)
    image = np.random.default_rng(ksize).normal(0, 1, (ksize + 4, 40))
    assert median._plan(ksize, image.dtype, image.shape) == "ranks"
    for border in SCIPY_MODES:
        np.testing.assert_array_equal(median_filter(image, ksize, border=border),
                                      scipy_median(image, ksize, border))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ksize", WIDE_SIDES[:2])
def test_generated_sides_on_rows_shorter_than_a_vector(dtype, ksize):
    # a row of fewer than 64 bytes holds no whole vector of every level: the sliding paths take it
    rng = np.random.default_rng(ksize)
    lanes = 64 // np.dtype(dtype).itemsize
    for shape in [(ksize + 4, lanes - 1), (2, 1), (9, lanes // 3 - 1, 3)]:
        image = random_image(rng, shape, dtype)
        assert median._plan(ksize, image.dtype, image.shape) != "network"
        for border in SCIPY_MODES:
            np.testing.assert_array_equal(median_filter(image, ksize, border=border, cval=3),
                                          plain_median(image, ksize, border, cval=3))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("ksize", WIDE_SIDES)
def test_generated_networks_on_binary_images(dtype, ksize):
    # 0-1 principle, sampled: a network selects the median of every input iff it does for every
    # 0/1 input; windows near half ones decide the median at every rank that can hold it
    rng = np.random.default_rng(ksize)
    for density in (0.3, 0.5, 0.7):
        image = (rng.random((3 * ksize, 101)) < density).astype(dtype)
        np.testing.assert_array_equal(median_filter(image, ksize),
                                      plain_median(image, ksize, "replicate"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ksize", sorted({WIDE_SIDES[0], WIDE_SIDES[-1]}) if WIDE_SIDES else [])
@pytest.mark.parametrize("where", [(0, 0), (10, 39), (5, 17), (0, 39)])
def test_generated_networks_reject_nan(dtype, ksize, where):
    image = np.zeros((11, 40), dtype)
    image[where] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        median_filter(image, ksize)


@pytest.mark.parametrize("n", range(2, 22))
def test_generator_sort_network_sorts(n, load_tool):
    gen = load_tool("median_networks")
    values = np.random.default_rng(n).integers(0, 5, (n, 2000))
    for a, b in gen.sort_network(n):
        values[a], values[b] = np.minimum(values[a], values[b]), np.maximum(values[a], values[b])
    np.testing.assert_array_equal(values, np.sort(values, axis=0))


@pytest.mark.parametrize("k", [3, 5, 9, 11])
def test_generator_shared_network_keeps_the_candidate_ranks(k, load_tool):
    # evaluate the pruned operations on random column-sorted inputs (with ties)
    gen = load_tool("median_networks")
    ops, results = gen.shared_network(k)
    rng = np.random.default_rng(k)
    columns = np.sort(rng.integers(0, 3 * k, (k, k - 1, 500)), axis=1)
    computed = []
    for kind, x, y in ops:
        a, b = (columns[o[1], o[2]] if o[0] == "in" else computed[o[1]] for o in (x, y))
        computed.append(np.minimum(a, b) if kind == "min" else np.maximum(a, b))
    got = np.array([columns[o[1], o[2]] if o[0] == "in" else computed[o[1]] for o in results])
    m = k * k // 2
    expected = np.sort(columns.reshape(k * (k - 1), -1), axis=0)[m - k:m + 1]
    np.testing.assert_array_equal(got, expected)
