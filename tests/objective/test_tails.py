"""The tail penalty counts only values beyond the bound, in each channel's own running std."""

import numpy as np
import pytest
import torch

from onnx_datagen.objective.tails import tail_excess


def test_tail_excess_counts_values_beyond_the_bound_in_running_stds():
    # channel 0: mean 0, std 1, values 0, 5, -6 -> beyond 4 by 0, 1, 2; channel 1: mean 10, std 2, values
    # 10, 12, 20 -> z 0, 1, 5 -> beyond by 0, 0, 1. Squares 0 + 1 + 4 + 0 + 0 + 1 over 6 values: 1.0.
    x = torch.tensor([[[[0.0, 5.0, -6.0]], [[10.0, 12.0, 20.0]]]])
    targets = (torch.tensor([0.0, 10.0]), torch.tensor([1.0, 2.0]))
    assert float(tail_excess([x], [targets], 4.0)) == 1.0
    inside = torch.tensor([0.0, 10.0]).reshape(1, 2, 1, 1).expand(2, 2, 3, 3)  # at each channel's mean: nothing beyond
    assert float(tail_excess([x, inside], [targets, targets], 4.0)) == 0.5  # the mean over layers


def test_dead_channels_are_free_and_numpy_gives_the_same():
    x = np.array([[3.0, 1.0], [-3.0, 1.0]], dtype=np.float32)  # an (N, C) input: one value per image and channel
    mean, std = np.zeros(2, np.float32), np.array([1.0, 0.0], np.float32)  # channel 1 is dead (variance 0)
    t = tail_excess([torch.tensor(x)], [(torch.tensor(mean), torch.tensor(std))], 2.0)
    assert float(t) == 0.5  # channel 0: (3 - 2)^2 twice, over 4 values; channel 1 counts nothing
    assert float(tail_excess([x.view(TensorLike)], [(mean, std)], 2.0)) == 0.5


def test_the_fused_torch_path_has_the_arithmetic_value_and_gradient():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(0.0, 3.0, size=(4, 5, 6, 6)).astype(np.float32))
    targets = (torch.tensor(rng.normal(size=5).astype(np.float32)), torch.tensor([1.0, 2.0, 0.5, 0.0, 1.5]))
    results = []
    for fused in (True, False):
        leaf = x.clone().requires_grad_(True)
        value = tail_excess([leaf * 1.0, leaf[:, :, :3] * 2.0], [targets, targets], 1.5, fused=fused)
        value.backward()
        results.append((float(value.detach()), leaf.grad))
    (fused_value, fused_grad), (plain_value, plain_grad) = results
    assert fused_value > 0.1 and fused_value == pytest.approx(plain_value, rel=1e-6)
    torch.testing.assert_close(fused_grad, plain_grad, rtol=1e-5, atol=1e-9)
    assert float(fused_grad[:, 3].abs().max()) == 0.0  # the dead channel has no tail, so no gradient


def test_no_layers_no_term():
    assert tail_excess([], [], 4.0) is None


class TensorLike(np.ndarray):
    """numpy with torch's .dim() and .clamp_min(), as graph values have them."""

    def dim(self):
        return self.ndim

    def clamp_min(self, low):
        return np.maximum(self, low).view(TensorLike)

    def float(self):
        return self
