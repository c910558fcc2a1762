"""Model-agnostic calibration images from random iterated function systems (IFS fractals).

The approach of OpenVINO POT's old data-free mode and of FractalDB: a few random contractive affine
maps, rendered with the chaos game as coloured points over a varied background. No model is in
the loop, so this works for models whose BatchNorm statistics were folded away (or never existed).
Image i depends only on (seed, i): any subset regenerates alone, byte for byte.
"""

from __future__ import annotations

import numpy as np

FRACTAL_STREAM = 7  # keeps these generators apart from the optimiser's (seed, batch, stream) streams
WALKERS = 16384  # at most this many chaos-game points advanced together (some 140 numpy steps at 224x224, not 4,000)
STEPS = 64  # at least this many kept steps, so that small images do not pay a burn-in of WALKERS points
BURN_IN = 16  # steps before points lie on the attractor
POINTS_PER_PIXEL = 40  # rendered points per image pixel (before the 1-99 % crop)


def fractal_pixels(n: int, height: int, width: int, channels: int, seed: int = 0, start: int = 0) -> np.ndarray:
    """Images start..start+n-1 as uint8 N x H x W x C pixels (RGB, or luminance for 1 channel)."""
    images = np.empty((n, height, width, channels), dtype=np.uint8)
    for i in range(n):
        rng = np.random.default_rng([seed, FRACTAL_STREAM, start + i])
        rgb = _render(rng, height, width)
        images[i] = rgb if channels == 3 else _luminance_to_channels(rgb, channels)
    return images


def _random_maps(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-4 contractive affine maps x -> A x + b, A = rotation . diag(s1, s2) . rotation (maybe mirrored).

    Singular values s1 in 0.45-0.95 and s2 at least 30 % of s1 keep the attractor a filled shape
    rather than a thin line. Maps are chosen with probability proportional to |det A| (the area they
    cover), as in FractalDB.
    """
    k = int(rng.integers(2, 5))
    s1 = rng.uniform(0.45, 0.95, k)
    s2 = s1 * rng.uniform(0.3, 1.0, k)
    theta, phi = rng.uniform(0, 2 * np.pi, (2, k))
    mirror = np.where(rng.random(k) < 0.5, -1.0, 1.0)
    matrices = _rotations(theta) @ (np.eye(2) * np.stack([s1, s2 * mirror], 1)[:, None, :]) @ _rotations(phi)
    offsets = rng.uniform(-1.0, 1.0, (k, 2))
    weights = s1 * s2
    return matrices, offsets, weights / weights.sum()


def _rotations(angles: np.ndarray) -> np.ndarray:
    c, s = np.cos(angles), np.sin(angles)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _chaos_game(rng: np.random.Generator, n_points: int) -> tuple[int, np.ndarray]:
    """The number of walkers, and points on the attractor: their x, y and RGB colour as five rows of float32 (the
    first `walkers` points are one step's).

    Each map has a colour and a point's colour is the running blend of the maps that moved it (a
    colour IFS), so colour varies smoothly across the attractor's parts instead of filling flat blobs.
    """
    matrices, offsets, probabilities = _random_maps(rng)
    palette = rng.uniform(0, 255, (3, len(probabilities))).astype(np.float32)
    a, b, c, d = (matrices[:, i, j].astype(np.float32) for i in (0, 1) for j in (0, 1))  # x' = a x + b y + e
    e, f = (offsets[:, i].astype(np.float32) for i in (0, 1))  # y' = c x + d y + f
    walkers = int(np.clip(n_points // STEPS, 1, WALKERS))
    steps = -(-n_points // walkers)
    x, y = rng.uniform(-1.0, 1.0, (2, walkers)).astype(np.float32)
    colour = np.full((3, walkers), 127.5, dtype=np.float32)
    # The map a uniform draw picks is the number of cumulative probabilities it passes (rng.choice's inverse CDF).
    draws = rng.random((BURN_IN + steps, walkers), dtype=np.float32)
    choices = np.zeros(draws.shape, dtype=np.intp)
    for bound in np.cumsum(probabilities)[:-1].astype(np.float32):
        choices += draws >= bound
    kept = np.empty((5, steps, walkers), dtype=np.float32)
    for step, chosen in enumerate(choices):
        x, y = a[chosen] * x + b[chosen] * y + e[chosen], c[chosen] * x + d[chosen] * y + f[chosen]
        colour += palette[:, chosen]
        colour *= 0.5
        if step >= BURN_IN:
            kept[:2, step - BURN_IN], kept[2:, step - BURN_IN] = (x, y), colour
    return walkers, kept.reshape(5, -1)[:, :n_points]


def _render(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """One H x W x 3 uint8 image: a background, then the attractor's coloured points."""
    walkers, points = _chaos_game(rng, POINTS_PER_PIXEL * height * width)
    x, y, *rgb = points
    # Fit the attractor into a random part of the frame (1-99 % of the points, so outliers do not shrink it),
    # judged on one step's walkers: independent chains, so a fair sample of the whole attractor.
    low, high = np.percentile(np.stack([x[:walkers], y[:walkers]]), [1, 99], axis=1)
    scale = rng.uniform(0.7, 1.1) * min(height, width) / np.maximum(high - low, 1e-6).max()
    (r00, r01), (r10, r11) = (_rotations(rng.uniform(0, 2 * np.pi)) * scale).astype(np.float32)
    x, y = x - np.float32((low[0] + high[0]) / 2), y - np.float32((low[1] + high[1]) / 2)
    rows = np.rint(r10 * x + r11 * y + np.float32(height / 2 + rng.uniform(-0.15, 0.15) * height)).astype(np.int32)
    cols = np.rint(r00 * x + r01 * y + np.float32(width / 2 + rng.uniform(-0.15, 0.15) * width)).astype(np.int32)
    outside = (rows < 0) | (rows >= height) | (cols < 0) | (cols >= width)
    flat = np.where(outside, height * width, rows * width + cols)  # one spare bin collects the points off the frame
    bins = height * width + 1
    counts = np.bincount(flat, minlength=bins)[:-1].astype(np.float64)
    summed = [np.bincount(flat, weights=channel, minlength=bins)[:-1] for channel in rgb]
    colour = np.stack(summed, axis=1) / np.maximum(counts, 1)[:, None]
    # Dense regions cover the background fully; sparse ones let it show through.
    alpha = 1.0 - np.exp(-counts / rng.uniform(2.0, 8.0))
    image = _background(rng, height, width).reshape(-1, 3) * (1 - alpha[:, None]) + colour * alpha[:, None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8).reshape(height, width, 3)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A flat colour, or a linear gradient between two colours in a random direction."""
    first, second = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if rng.random() < 0.5:
        return np.broadcast_to(first, (height, width, 3)).astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width]
    t = np.cos(angle) * x / max(width - 1, 1) + np.sin(angle) * y / max(height - 1, 1)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    return first + t[..., None] * (second - first)


def _luminance_to_channels(rgb: np.ndarray, channels: int) -> np.ndarray:
    gray = np.rint(rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    return np.repeat(gray[..., None], channels, axis=2)
