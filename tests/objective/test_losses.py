import numpy as np
import pytest
import torch

from onnx_datagen.config.choices import BnLoss, LayerWeighting, OutputLoss
from onnx_datagen.objective.bn_alignment import BN_LOSSES
from onnx_datagen.objective.output_loss import EPS, OUTPUT_LOSSES, HeadActivation, LastBn
from onnx_datagen.objective.weighting import LAYER_WEIGHTINGS

T = torch.tensor


def test_every_enum_member_has_exactly_one_implementation():
    assert set(BN_LOSSES) == set(BnLoss)
    assert set(OUTPUT_LOSSES) == set(OutputLoss)
    assert set(LAYER_WEIGHTINGS) == set(LayerWeighting)


def test_l2_square_by_hand():
    # mean gap (1, -2) -> 5 / 2; std gap (0.5, 0) -> 0.25 / 2
    loss = BN_LOSSES[BnLoss.L2_SQUARE](T([1.0, 0.0]), T([1.5, 1.0]), T([0.0, 2.0]), T([1.0, 1.0]))
    assert float(loss) == pytest.approx(2.5 + 0.125)


def test_l2_square_per_image_sums_over_images():
    mean = T([[1.0, 0.0], [0.0, 0.0]])  # two images; only the first is off, by 1 in channel 0
    loss = BN_LOSSES[BnLoss.L2_SQUARE](mean, torch.ones(2, 2), torch.zeros(2), torch.ones(2))
    assert float(loss) == pytest.approx(0.5)


Z = T([[1.0, 4.0, -2.0], [0.0, 0.5, 0.5]])  # ranges 6 and 0.5, mean 3.25


@pytest.mark.parametrize(
    "kind, expected",
    [
        (OutputLoss.NONE, 0.0),
        (OutputLoss.NEGATIVE_MIN_MAX, -3.25),
        (OutputLoss.INVERSE_MIN_MAX, 1 / (3.25 + EPS)),
    ],
)
def test_output_losses_by_hand(kind, expected):
    assert float(OUTPUT_LOSSES[kind]([Z], [])) == pytest.approx(expected, rel=1e-6)


def test_regularized_min_max_by_hand():
    a = T([[3.0, 4.0]])  # ||a|| = 5
    w = T([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])  # row norms 1, 2, 0
    z = T([[1.0, 4.0, -2.0]])  # argmax 1 (bound 0.5*5*2 = 5), argmin 2 (bound 0)
    expected = abs(4.0 - 5.0) + abs(2.0 - 0.0) + 1 / (6.0 + EPS)
    got = OUTPUT_LOSSES[OutputLoss.REGULARIZED_MIN_MAX]([z], [HeadActivation(z, a, w)])
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_layer_weightings():
    assert LAYER_WEIGHTINGS[LayerWeighting.AVERAGE](3, True, 10.0) == [0.25] * 4
    assert LAYER_WEIGHTINGS[LayerWeighting.AVERAGE](3, False, 10.0) == [0.0] + [1 / 3] * 3
    assert LAYER_WEIGHTINGS[LayerWeighting.FIRST_LAYER_MULTIPLIER](3, True, 10.0) == [1.0, 10.0, 1.0, 1.0]
    assert LAYER_WEIGHTINGS[LayerWeighting.SUM](3, False, 10.0) == [0.0, 1.0, 1.0, 1.0]
    assert np.isclose(sum(LAYER_WEIGHTINGS[LayerWeighting.AVERAGE](7, True, 1.0)), 1.0)


def test_l2_square_std_weight_by_hand():
    # mean gap (1, -2) -> 5 / 2; std gap (0.5, 0) -> 0.25 / 2, times 10 (DGH)
    loss = BN_LOSSES[BnLoss.L2_SQUARE](T([1.0, 0.0]), T([1.5, 1.0]), T([0.0, 2.0]), T([1.0, 1.0]), std_weight=10.0)
    assert float(loss) == pytest.approx(2.5 + 1.25)


def test_dgh_hinge_output_loss_by_hand():
    # Last BN input, 2 images x 2 channels x 2 positions. Image 0: channel means (2, 0), stds (1, 0);
    # image 1: means (0, 0), stds (0, 0). Targets mean (0, 0), std (1, 1); eps 0.
    x = T([[[[1.0, 3.0]], [[0.0, 0.0]]], [[[0.0, 0.0]], [[0.0, 0.0]]]])
    last = LastBn(x, torch.zeros(2), torch.ones(2), 0.0)
    # image 0: mean gap (4 + 0) / 2 = 2 -> hinge 1.5; std gap (0 + 1) / 2 = 0.5 -> hinge 0
    # image 1: mean gap 0 -> 0; std gap (1 + 1) / 2 = 1 -> hinge 0.5
    hinge = [1.5, 0.5]
    expected = np.mean([-6.0 + hinge[0], -0.5 + hinge[1]])  # Z's ranges are 6 and 0.5
    got = OUTPUT_LOSSES[OutputLoss.NEGATIVE_MIN_MAX_BN_HINGE]([Z], [], last)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_l2_norm_mean_var_by_hand():
    # mean gap (3, -4) -> norm 5; variance gap: std (2, 1) vs (1, 1) -> var gap (3, 0) -> norm 3
    loss = BN_LOSSES[BnLoss.L2_NORM_MEAN_VAR](T([3.0, 0.0]), T([2.0, 1.0]), T([0.0, 4.0]), T([1.0, 1.0]))
    assert float(loss) == pytest.approx(5.0 + 3.0)
    numpy_loss = BN_LOSSES[BnLoss.L2_NORM_MEAN_VAR](
        *(np.array(v) for v in ([3.0, 0.0], [2.0, 1.0], [0.0, 4.0], [1.0, 1.0]))
    )
    assert float(numpy_loss) == pytest.approx(8.0)  # the manifest's report scores with numpy


def test_slack_l2_square_by_hand():
    # 2 images x 2 channels, targets mean (0, 0), std (1, 1), margins 0.5 (mean) and 0.25 (std).
    mean = T([[1.0, -0.25], [0.0, 2.0]])  # |gaps| 1, 0.25 / 0, 2 -> slack 0.5, 0 / 0, 1.5
    std = T([[1.0, 1.5], [0.5, 1.0]])  # |gaps| 0, 0.5 / 0.5, 0 -> slack 0, 0.25 / 0.25, 0
    slack = BN_LOSSES[BnLoss.SLACK_L2_SQUARE]
    args = (mean, std, torch.zeros(2), torch.ones(2))
    per_image = [0.25 + 0.0625, 2.25 + 0.0625]
    assert float(slack(*args, margins=(0.5, 0.25))) == pytest.approx(sum(per_image) / 2)
    assert float(slack(*args, margins=(0.5, 0.25), std_weight=2.0)) == pytest.approx((0.25 + 2.25 + 4 * 0.0625) / 2)
    enhanced = slack(*args, margins=(0.5, 0.25), image_weights=T([4.0, 1.0]))
    assert float(enhanced) == pytest.approx((4 * per_image[0] + per_image[1]) / 2)
    # zero margins: l2-square x C / B
    assert float(slack(*args)) == pytest.approx(float(BN_LOSSES[BnLoss.L2_SQUARE](*args)) * 2 / 2)
    assert float(slack(*(a.numpy() for a in args), margins=(0.5, 0.25))) == pytest.approx(sum(per_image) / 2)


def test_enhancement_weights_pick_one_image_per_layer_among_the_first_20():
    from onnx_datagen.objective.bn_alignment import enhancement_weights

    assert enhancement_weights(2, 5).tolist() == [1, 1, 4, 1, 1]
    assert enhancement_weights(5, 5).tolist() == [1] * 5  # layer 5 has no image 5 in a batch of 5
    assert enhancement_weights(20, 40).tolist() == [1] * 40  # only layers 0..19 enhance


def test_slack_margins_are_per_layer_percentiles():
    from onnx_datagen.objective.bn_alignment import slack_margins

    gaps = [(np.arange(11.0), np.arange(0, 110.0, 10)), (np.ones((2, 3)), np.zeros((2, 3)))]
    assert slack_margins(gaps, 50.0) == [(5.0, 50.0), (1.0, 0.0)]
    assert slack_margins(gaps, 90.0)[0] == pytest.approx((9.0, 90.0))


def test_correlation_inhibition_by_hand():
    from onnx_datagen.objective.correlation import EIGENVALUE_WEIGHT, correlation_inhibition

    # Orthogonal images: Gram = identity, eigenvalues (1, 1). Reference: two equal images, Gram [[1, 1], [1, 1]],
    # eigenvalues (0, 2) -> normalised weights (0, 1). Eigenvalue term: ((1-0)^2 + (1-2)^2) / 2 = 1.
    x = T([[[[1.0, 0.0]]], [[[0.0, 3.0]]]])
    reference = T([[[[1.0, 1.0]]], [[[2.0, 2.0]]]])
    _, ref_vectors = torch.linalg.eigh(T([[1.0, 1.0], [1.0, 1.0]]))
    _, vectors = torch.linalg.eigh(torch.eye(2))
    alignment = abs(-float(vectors[:, 1] @ ref_vectors[:, 1]))  # only the top reference eigenvector has weight
    assert float(correlation_inhibition(x, reference)) == pytest.approx(EIGENVALUE_WEIGHT * 1.0 + alignment)
    # gradient flows to the images
    x.requires_grad_(True)
    correlation_inhibition(x + T([[[[0.0, 0.1]]], [[[0.2, 0.0]]]]), reference).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
