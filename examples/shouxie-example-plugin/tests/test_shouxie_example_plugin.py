"""The example plugin's own tests, as a plugin author writes them: the shouxie conformance kit,
then each op against an independent reference."""
import numpy as np
import pytest

shouxie_example_plugin = pytest.importorskip("shouxie_example_plugin")

from shouxie.plugins import testing  # noqa: E402
from shouxie_example_plugin import box_areas, gaussian_blur, noisy_image  # noqa: E402

RNG = np.random.default_rng(0)


def test_every_op_conforms():
    image = noisy_image(height=20, width=30)
    ops = testing.check_plugin(shouxie_example_plugin, examples={
        "example.gaussian_blur": [{"image": image}, {"image": image[..., None].repeat(3, 2), "sigma": 2.5}],
        "example.box_areas": [{"boxes": [[0, 0, 2, 3], [1, 1, 5, 2]]}, {"boxes": np.zeros((0, 4))}],
    })
    assert {op.name for op in ops} == {"example.gaussian_blur", "example.box_areas", "example.noisy_image"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, sigma", [((40, 50), 1.0), ((31, 17, 3), 2.3), ((5, 7), 4.0), ((1, 1), 0.5)])
def test_gaussian_blur_matches_scipy(dtype, shape, sigma):
    ndimage = pytest.importorskip("scipy.ndimage")
    image = RNG.random(shape).astype(dtype)
    sigmas = (sigma, sigma, 0)[: len(shape)]
    expected = ndimage.gaussian_filter(image.astype(np.float64), sigmas, mode="reflect", truncate=4.0)
    out = gaussian_blur(image=image, sigma=sigma)
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_gaussian_blur_of_views_integers_and_empty_images():
    image = RNG.random((30, 40))
    np.testing.assert_allclose(gaussian_blur(image=image[::-2, ::3]),
                               gaussian_blur(image=np.ascontiguousarray(image[::-2, ::3])))
    assert gaussian_blur(image=np.arange(12).reshape(3, 4)).dtype == np.float64
    np.testing.assert_allclose(gaussian_blur(image=np.full((6, 6), 3.0), sigma=2.0), 3.0)
    assert gaussian_blur(image=np.zeros((0, 5), np.float32)).shape == (0, 5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"image": np.zeros(5)}, ValueError, "image must have 2 or 3 dimensions"),
    ({"image": [["a"]]}, TypeError, "image must be a real array"),
    ({"image": [[np.nan]]}, ValueError, "image must be finite"),
    ({"image": np.zeros((3, 3)), "sigma": 0}, ValueError, "sigma must be a finite number > 0"),
    ({"image": np.zeros((3, 3)), "truncate": float("inf")}, ValueError, "truncate must be"),
])
def test_gaussian_blur_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        gaussian_blur(**kwargs)


def test_box_areas_by_hand():
    out = box_areas(boxes=np.array([[0, 0, 2, 3], [1, 1, 5, 2], [3, 3, 1, 1]], np.float32))
    assert out["areas"].dtype == np.float32
    np.testing.assert_array_equal(out["areas"], [6, 4, 0])
    assert out["mean_area"] == pytest.approx(10 / 3)
    empty = box_areas(boxes=np.zeros((0, 4)))
    assert empty["areas"].shape == (0,) and empty["mean_area"] == 0.0


@pytest.mark.parametrize("boxes, match", [(np.zeros((3, 5)), r"shape \(N, 4\)"), (np.zeros(4), "2 dimensions")])
def test_box_areas_rejects_bad_shapes(boxes, match):
    with pytest.raises(ValueError, match=match):
        box_areas(boxes=boxes)


def test_noisy_image_is_reproducible():
    a = noisy_image(height=8, width=9, seed=3)
    assert a.shape == (8, 9) and a.dtype == np.float32
    np.testing.assert_array_equal(a, noisy_image(height=8, width=9, seed=3))
    assert not np.array_equal(a, noisy_image(height=8, width=9, seed=4))
    with pytest.raises(ValueError, match="height must be an integer >= 0"):
        noisy_image(height=-1)
