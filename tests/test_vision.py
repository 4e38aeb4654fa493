import numpy as np
import pytest

from tinyml_lib import vision


def test_sample_photo_is_a_real_grayscale_picture():
    photo = vision.sample_photo(48)
    assert photo.shape == (48, 72) and photo.dtype == np.float32
    assert 0.0 <= photo.min() < 0.2 and 0.8 < photo.max() <= 1.0
    assert photo.std() > 0.1  # not flat: there is something to detect
    assert np.array_equal(photo, vision.sample_photo(48))


@pytest.mark.parametrize("size", [4, 1000, 32.0, True])
def test_sample_photo_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size must be an integer"):
        vision.sample_photo(size)


def test_resize_averages_blocks():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    assert np.allclose(vision.resize(image, 2, 2), [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="2-D"):
        vision.resize(np.zeros((2, 2, 3)), 1, 1)


def test_filters_detect_what_they_say():
    step = np.zeros((8, 8), dtype=np.float32)
    step[:, 4:] = 1.0  # a vertical edge
    def conv(img, k):
        return np.array([[np.sum(img[i:i + 3, j:j + 3] * k) for j in range(6)] for i in range(6)])
    vertical = conv(step, vision.FILTERS["vertical edges (Sobel x)"])
    horizontal = conv(step, vision.FILTERS["horizontal edges (Sobel y)"])
    assert np.abs(vertical).max() == 4 and np.abs(horizontal).max() == 0
    assert np.isclose(vision.FILTERS["blur (box)"].sum(), 1.0)


def test_plot_images_validates_and_returns_axes():
    axes = vision.plot_images([np.zeros((4, 4))] * 4, ["a", "b", "c", "d"], cols=3)
    assert axes.shape == (2, 3)
    with pytest.raises(ValueError, match="titles"):
        vision.plot_images([np.zeros((4, 4))], ["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        vision.plot_images([])


def test_filter_explorer_calls_the_learners_convolution():
    calls = []

    def convolve(image, kernel):
        calls.append(kernel.shape)
        return image[1:-1, 1:-1]

    box = vision.filter_explorer(np.random.default_rng(0).random((10, 10)), convolve)
    assert calls == [(3, 3)] and len(box.children) == 2
