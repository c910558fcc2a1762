import numpy as np
import pytest
import torch

from onnx_datagen.config.choices import Clipping, DataInit, ImagePipeline
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.images.init import INITS
from onnx_datagen.images.pipeline import CanvasPipeline, clip, gaussian_kernel, reflect_, valid_range

LOW, HIGH = valid_range((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 1.0)  # [-2, 2]


def pipeline(**kw):
    return CanvasPipeline(GenerationConfig(**kw).resolve(8, 6), 8, 6, LOW, HIGH, torch.device("cpu"))


def test_valid_range():
    np.testing.assert_allclose(LOW, [-2, -2, -2])
    np.testing.assert_allclose(valid_range((127.5,), (127.5,), 255.0)[1], [1.0])


def test_views_have_the_image_shape_and_canvas_has_the_margin():
    p = pipeline(extra_pixels=4)
    assert p.canvas_size == (12, 10)
    canvas = torch.randn(2, 3, 12, 10)
    assert p.training_view(canvas, np.random.default_rng(0)).shape == (2, 3, 8, 6)
    assert p.final_view(canvas).shape == (2, 3, 8, 6)
    assert pipeline(pipeline=ImagePipeline.IDENTITY, extra_pixels=4).canvas_size == (8, 6)
    assert pipeline().canvas_size == (9, 7)  # default margin: round(8 / 7) = 1


def test_final_view_is_the_centre_crop_of_the_smoothed_canvas():
    p = pipeline(extra_pixels=2, clipping=Clipping.NONE)
    canvas = torch.randn(1, 3, 10, 8)
    smoothed = torch.nn.functional.conv2d(canvas, gaussian_kernel(3, 1.25), padding=1, groups=3)
    torch.testing.assert_close(p.final_view(canvas), smoothed[:, :, 1:9, 1:7])


def test_training_view_randomness_is_reproducible_from_the_rng():
    p = pipeline(extra_pixels=4)
    canvas = torch.randn(2, 3, 12, 10)
    a = p.training_view(canvas, np.random.default_rng(5))
    b = p.training_view(canvas, np.random.default_rng(5))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("mode", list(Clipping))
def test_view_clipping_range_and_straight_through_gradient(mode):
    low, high = torch.full((1, 1, 1, 1), -2.0), torch.full((1, 1, 1, 1), 2.0)
    x = torch.tensor([-3.0, -1.0, 0.5, 2.5]).view(1, 1, 1, 4).requires_grad_(True)
    y = clip(x, low, high, mode)
    views_unclamped = mode in (Clipping.NONE, Clipping.CLAMP_CANVAS)  # clamp-canvas clamps the stored images
    expected = [-3.0, -1.0, 0.5, 2.5] if views_unclamped else [-2.0, -1.0, 0.5, 2.0]
    np.testing.assert_allclose(y.detach().flatten().numpy(), expected)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.flatten().numpy(), 1.0)  # identity gradient everywhere


def test_jitter_and_flip_is_a_circular_shift_of_the_image_sized_canvas_and_clamp_canvas_clamps_it():
    p = pipeline(pipeline="jitter-and-flip", extra_pixels=3, flip_probability=1.0, clipping="clamp-canvas")
    assert p.canvas_size == (8, 6)  # no margin: DeepInversion shifts the image itself
    canvas = torch.randn(2, 3, 8, 6) * 3
    view = p.training_view(canvas, np.random.default_rng(7))
    down, right = (int(v) for v in np.random.default_rng(7).integers(-3, 4, size=2))
    torch.testing.assert_close(view, torch.flip(torch.roll(canvas, (down, right), dims=(2, 3)), dims=(3,)))
    torch.testing.assert_close(p.final_view(canvas), canvas)  # the images themselves, no smoothing or crop
    p.after_step(canvas)
    assert float(canvas.min()) == -2.0 and float(canvas.max()) == 2.0  # clamped in place to [-2, 2]


def test_reflect_folds_the_stored_canvas_back_into_range():
    low, high = torch.full((1, 1, 1, 1), -2.0), torch.full((1, 1, 1, 1), 2.0)
    canvas = torch.tensor([-3.0, -1.0, 0.5, 2.5, 9.0]).view(1, 1, 1, 5)
    reflect_(canvas, low, high)
    np.testing.assert_allclose(canvas.flatten().numpy(), [-1.0, -1.0, 0.5, 1.5, -2.0])


def test_smoothing_kernel_is_normalised_gaussian():
    k = gaussian_kernel(2, 1.25)
    assert k.shape == (2, 1, 3, 3) and float(k[0].sum()) == pytest.approx(1.0)
    assert float(k[0, 0, 1, 1]) > float(k[0, 0, 0, 1]) > float(k[0, 0, 0, 0])


@pytest.mark.parametrize("kind", list(INITS))
def test_inits_are_deterministic_per_seed_and_keep_the_shape(kind):
    a = INITS[kind](np.random.default_rng([0, 3]), (4, 3, 10, 12))
    b = INITS[kind](np.random.default_rng([0, 3]), (4, 3, 10, 12))
    c = INITS[kind](np.random.default_rng([0, 4]), (4, 3, 10, 12))
    assert a.shape == (4, 3, 10, 12) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_diverse_init_varies_per_image_and_channel_statistics():
    x = INITS[DataInit.DIVERSE](np.random.default_rng(0), (64, 3, 16, 16))
    channel_means = x.mean(axis=(2, 3))
    assert channel_means.std() > 0.5  # per-(image, channel) means spread like N(0, 1)
    gaussian = INITS[DataInit.GAUSSIAN](np.random.default_rng(0), (64, 3, 16, 16))
    assert gaussian.mean(axis=(2, 3)).std() < 0.2


def test_uniform_init_has_unit_variance_and_zeroq_original_is_its_flat_bug():
    x = INITS[DataInit.UNIFORM](np.random.default_rng(0), (64, 3, 16, 16))
    assert abs(float(x.var()) - 1.0) < 0.02 and float(np.abs(x).max()) <= np.sqrt(3.0)
    bug = INITS[DataInit.ZEROQ_ORIGINAL](np.random.default_rng(0), (64, 3, 16, 16))
    assert float(np.abs(bug).max()) == pytest.approx(127.5 / 5418.75)  # ZeroQ's divisor: the variance
    levels = np.unique(np.round(bug * 5418.75 + 127.5, 3))
    assert len(levels) == 256 and levels.min() == 0 and levels.max() == 255  # randint(0, 256) steps


def test_fractal_init_is_the_fractal_preset_normalised_and_indexed_by_image():
    from onnx_datagen.config.normalization import Normalization
    from onnx_datagen.data.dataset import Dataset
    from onnx_datagen.images.fractal import fractal_pixels
    from onnx_datagen.images.init import fractal

    norm = Normalization.preset("imagenet")
    canvas = fractal(seed=2, first_index=8, shape=(4, 3, 10, 12), normalization=norm)
    assert canvas.shape == (4, 3, 10, 12) and canvas.dtype == np.float32
    expected = Dataset.from_pixels(fractal_pixels(4, 10, 12, 3, seed=2, start=8), norm.mean, norm.std, 1.0)
    np.testing.assert_array_equal(canvas, expected)


def test_half_resolution_view_pools_the_canvas_and_halves_the_jitter():
    p = pipeline(pipeline="jitter-and-flip", extra_pixels=3, flip_probability=1.0, clipping="clamp-canvas")
    half = p.pooled(2)
    assert half.canvas_size == p.canvas_size == (8, 6)  # the stored images stay at full size
    canvas = torch.randn(2, 3, 8, 6)
    view = half.training_view(canvas, np.random.default_rng(7))
    down, right = (int(v) for v in np.random.default_rng(7).integers(-1, 2, size=2))  # jitter 3 // 2 = 1
    pooled = (
        canvas[:, :, 0::2, 0::2] + canvas[:, :, 1::2, 0::2] + canvas[:, :, 0::2, 1::2] + canvas[:, :, 1::2, 1::2]
    ) / 4
    torch.testing.assert_close(view, torch.flip(torch.roll(pooled, (down, right), dims=(2, 3)), dims=(3,)))
    torch.testing.assert_close(half.final_view(canvas), pooled)
    assert p.pool == 1 and p.jitter == 3  # the full-resolution pipeline is unchanged
