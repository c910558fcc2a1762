"""Photo-like pixels with no photo in them: random fields with natural images' falling amplitude spectrum and the
per-channel mean, spread and colour correlation of photographs, for checking what input a model was trained on."""

from __future__ import annotations

import numpy as np

# Photos' per-channel pixel mean (ImageNet's published one, 0-1 RGB) and the spread of all pixels of all photos. The
# published ImageNet std (0.229) is about the spread within one photo; across photos it is larger: 1,000 ImageNet
# photos in shared/data measure 0.237 within and 0.29-0.30 over the whole set, whole images differing by 0.16.
PHOTO_MEAN = np.array([0.485, 0.456, 0.406])
PHOTO_STD = 0.29
# Photos' channels move together: most of each channel is a shared luminance, the rest two opponent colours.
OPPONENT = np.array([[1.0, 0.0, -1.0], [0.5, -1.0, 0.5]]) * 0.3
# Amplitude falls as 1/f^1.4: neighbouring pixels then correlate as in photos (0.976 at 224x224, against 0.974 for
# 32 ImageNet photos at 256x256; 1/f, the textbook spectrum, gave 0.82: too rough for the first conv layers).
SPECTRUM_EXPONENT = 1.4
IMAGE_SPREAD = 0.6  # how much whole images differ in brightness, against the variation within one image


def photo_like_pixels(n: int, height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """N x H x W x C uint8 RGB (or gray) pixels of 1/f random fields scaled to natural photos' channel statistics."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0 / max(height, width)
    spectrum = (
        rng.standard_normal((n, 3, *radius.shape)) + 1j * rng.standard_normal((n, 3, *radius.shape))
    ) / radius**SPECTRUM_EXPONENT
    fields = np.fft.irfft2(spectrum, s=(height, width))
    fields = (fields - fields.mean(axis=(2, 3), keepdims=True)) / fields.std(axis=(2, 3), keepdims=True)
    luminance = fields[:, :1] + IMAGE_SPREAD * rng.standard_normal((n, 1, 1, 1))
    rgb = luminance + np.einsum("nkhw,kc->nchw", fields[:, 1:], OPPONENT)
    rgb = (rgb - rgb.mean(axis=(0, 2, 3), keepdims=True)) / rgb.std(axis=(0, 2, 3), keepdims=True)
    rgb = rgb * PHOTO_STD + PHOTO_MEAN.reshape(1, 3, 1, 1)
    if channels == 1:
        rgb = np.tensordot(np.array([0.299, 0.587, 0.114]), rgb, axes=([0], [1]))[:, None]
    elif channels != 3:
        raise ValueError(f"photo-like pixels have 1 or 3 channels, not {channels}")
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
