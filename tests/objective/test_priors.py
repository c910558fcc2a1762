"""Statistics-free terms (--preset prior), each against a hand computation."""

import numpy as np
import pytest
import torch

from onnx_datagen.objective.priors import class_cross_entropy, l2_prior, target_labels, total_variation_l2


def test_total_variation_sums_four_frobenius_norms():
    x = torch.tensor([[[[1.0, 2.0], [4.0, 8.0]]]])  # 1 x 1 x 2 x 2
    # horizontal (1, 4), vertical (3, 6), diagonal (7), anti-diagonal (4 - 2 = 2)
    expected = np.hypot(1, 4) + np.hypot(3, 6) + 7 + 2
    assert float(total_variation_l2(x)) == pytest.approx(expected)
    assert float(total_variation_l2(torch.ones(2, 3, 5, 5))) == 0.0


def test_l2_prior_is_the_mean_image_norm():
    x = torch.zeros(2, 1, 2, 2)
    x[0, 0, 0, 0], x[1] = 3.0, 1.0  # norms 3 and 2
    assert float(l2_prior(x)) == pytest.approx(2.5)


def test_target_labels_cycle_from_the_image_index():
    assert target_labels(list(range(10)), 8, 5).tolist() == [8, 9, 0, 1, 2]
    assert np.bincount(target_labels(list(range(10)), 0, 40).numpy()).tolist() == [4] * 10
    assert target_labels([3, 5, 7], 4, 4).tolist() == [5, 7, 3, 5]


def test_cross_entropy_matches_hand_computation_and_needs_a_classifier_output():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    expected = (-np.log(np.exp(2) / (np.exp(2) + 1)) - np.log(0.5)) / 2
    assert float(class_cross_entropy(logits, torch.tensor([0, 1]))) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"\[N, classes\]"):
        class_cross_entropy(torch.zeros(2, 3, 4), torch.tensor([0, 1]))
