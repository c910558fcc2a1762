"""Photo-like pixels: natural photos' channel statistics and spectrum, reproducible from the seed."""

import numpy as np

from onnx_datagen.images.photo_like import PHOTO_MEAN, photo_like_pixels


def test_photo_like_pixels_have_photo_statistics_and_repeat_with_the_seed():
    pixels = photo_like_pixels(16, 64, 48, seed=3)
    assert pixels.shape == (16, 64, 48, 3) and pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, photo_like_pixels(16, 64, 48, seed=3))
    values = pixels.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(values.mean(axis=0), PHOTO_MEAN, atol=0.02)
    assert np.all(np.corrcoef(values.T) > 0.8)  # colour channels move together, as in photos
    # neighbouring pixels are alike as in photos (0.93 for ImageNet photos at this size), unlike white noise (0)
    rows = pixels[..., 0].astype(float)
    assert np.corrcoef(rows[:, :, :-1].ravel(), rows[:, :, 1:].ravel())[0, 1] > 0.85
    gray = photo_like_pixels(2, 8, 8, channels=1)
    assert gray.shape == (2, 8, 8, 1)
