import numpy as np
import pytest
import torch

from onnx_datagen.config.choices import Granularity
from onnx_datagen.objective.statistics import MomentCache, mean_std, moments

# torch's float32 against numpy's float64 is torch's rounding alone: measured at most 1.8e-7 relative over the
# moments below (native AVX-512, ATEN_CPU_CAPABILITY=avx2 and default, ONEDNN_MAX_CPU_ISA=AVX2); 10x that.
RTOL = 2e-6
pytestmark = pytest.mark.numerics


@pytest.fixture
def x():
    return torch.tensor(np.random.default_rng(0).normal(1.0, 2.0, (4, 3, 5, 6)), dtype=torch.float32)


def test_moments_against_numpy(x):
    a = x.numpy().astype(np.float64)
    m, q = moments(x, Granularity.PER_BATCH)
    np.testing.assert_allclose(m.numpy(), a.mean(axis=(0, 2, 3)), rtol=RTOL)
    np.testing.assert_allclose(q.numpy(), (a**2).mean(axis=(0, 2, 3)), rtol=RTOL)
    m, q = moments(x, Granularity.PER_IMAGE)
    assert m.shape == (4, 3)
    np.testing.assert_allclose(m.numpy(), a.mean(axis=(2, 3)), rtol=RTOL)
    mean, std = mean_std(m, q, eps=0.0)
    np.testing.assert_allclose(std.numpy(), a.std(axis=(2, 3)), rtol=RTOL)  # biased std, as BN


@pytest.mark.parametrize("granularity", [Granularity.PER_BATCH, Granularity.PER_IMAGE])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "rank3", "transposed"])
def test_moments_and_their_gradient_in_every_layout(granularity, layout):
    """The fused path (contiguous and channels-last activations) and the plain one (other layouts) give the moments
    and the gradient of any loss on them that float64 autograd of mean(x) and mean(x * x) gives."""
    a = np.random.default_rng(1).normal(0.5, 2.0, (4, 3, 5, 6))
    x = torch.tensor(a[..., 0] if layout == "rank3" else a, dtype=torch.float32)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    if layout == "transposed":
        x = x.transpose(2, 3)
    reference = torch.tensor(x.detach().numpy(), dtype=torch.float64, requires_grad=True)
    x.requires_grad_(True)
    dims = tuple(range(2, x.dim())) if granularity is Granularity.PER_IMAGE else (0, *range(2, x.dim()))
    expected = (reference.mean(dims), (reference * reference).mean(dims))
    got = moments(x, granularity)
    assert (type(got[0].grad_fn).__name__ == "FusedMomentsBackward") is (layout != "transposed")
    weights = [torch.tensor(np.random.default_rng(2).normal(size=tuple(m.shape))) for m in expected]
    sum((m * w).sum() for m, w in zip(expected, weights)).backward()
    sum((m.double() * w).sum() for m, w in zip(got, weights)).backward()
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=RTOL)
    # A value's gradient is (w1 + 2 w2 x) / n: where the two terms cancel only an absolute bound holds.
    scale = float(reference.grad.abs().max())
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=RTOL, atol=RTOL * scale)


def test_moments_of_2d_features():
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))  # fixed: a mean near 0 has no relative bound
    m, _ = moments(x, Granularity.PER_BATCH)
    np.testing.assert_allclose(m.numpy(), x.numpy().astype(np.float64).mean(axis=0), rtol=RTOL)


def test_mean_std_adds_eps_inside_the_root():
    _, std = mean_std(torch.tensor([2.0]), torch.tensor([4.0]), eps=1e-6)  # zero variance
    assert float(std) == pytest.approx(1e-3)


def test_cache_combines_to_global_statistics_with_gradient_only_through_current_batch():
    rng = np.random.default_rng(1)
    batches = [torch.tensor(rng.normal(i, 1 + i, (3, 2, 4, 4)), dtype=torch.float32) for i in range(3)]
    cache = MomentCache(3)
    for k, b in enumerate(batches):
        cache.store(k, [moments(b, Granularity.PER_BATCH)])
    live = batches[1].clone().requires_grad_(True)
    ((m, q),) = cache.combined(1, [moments(live, Granularity.PER_BATCH)])
    everything = torch.cat(batches).numpy().astype(np.float64)  # equal batch sizes: average of slots = global
    np.testing.assert_allclose(m.detach().numpy(), everything.mean(axis=(0, 2, 3)), rtol=RTOL)
    np.testing.assert_allclose(q.detach().numpy(), (everything**2).mean(axis=(0, 2, 3)), rtol=RTOL)
    m.sum().backward()
    # d(mean of slot average)/dx = 1 / (K * elements per channel of one batch): one float32 rounding (7.5e-9)
    np.testing.assert_allclose(live.grad.numpy(), 1.0 / (3 * 3 * 16), rtol=1e-7)
    # Refreshing a slot replaces its contribution instead of adding to it.
    cache.store(1, [moments(batches[1] + 10, Granularity.PER_BATCH)])
    ((m2, _),) = cache.combined(0, [moments(batches[0], Granularity.PER_BATCH)])
    np.testing.assert_allclose(m2.numpy(), everything.mean(axis=(0, 2, 3)) + 10 / 3, rtol=RTOL)


@pytest.mark.parametrize("array", [torch.tensor, np.asarray], ids=["torch", "numpy"])
def test_cache_copies_what_it_stores(array):
    """Slots are copies (the step's own moment tensors are freed with the step), for either engine's arrays."""
    stored = [(array(np.float32([1.0, 2.0])), array(np.float32([3.0, 4.0])))]
    cache = MomentCache(2)
    cache.store(0, stored)
    cache.store(1, [(array(np.float32([5.0, 6.0])), array(np.float32([7.0, 8.0])))])
    stored[0][0][:] = 100.0  # the engine reuses or frees its buffer after the step
    ((rest_mean, rest_square),) = cache.rest(0)  # the sum less slot 0, as it was stored
    np.testing.assert_array_equal(np.asarray(rest_mean), [5.0, 6.0])
    np.testing.assert_array_equal(np.asarray(rest_square), [7.0, 8.0])
