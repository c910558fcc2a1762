import numpy as np
import torch
import torch.nn.functional as F

from onnx_datagen.images.generators import (
    ConvGenerator,
    SwingConv,
    generator_lr,
    install_swing,
    swinging,
)


def test_swing_conv_shifts_the_input_of_strided_convs_only():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(3, 4, 3, stride=2, padding=1))
    x = torch.randn(2, 2, 6, 6)
    plain = model(x)
    swings = install_swing(model)
    assert len(swings) == 1 and isinstance(model[1], SwingConv) and isinstance(model[0], torch.nn.Conv2d)
    assert install_swing(model) == []  # already wrapped
    torch.testing.assert_close(model(x), plain)  # off outside `swinging`
    h = model[0](x)
    swings[0].offset = (1, 1)  # the centre crop of a 1 px reflect pad is the input itself
    torch.testing.assert_close(model(x), plain)
    swings[0].offset = (0, 2)  # rows shifted down by one (reflected top row), columns left by one
    shifted = torch.cat([h[:, :, 1:2], h[:, :, :-1]], dim=2)
    shifted = torch.cat([shifted[:, :, :, 1:], shifted[:, :, :, -2:-1]], dim=3)
    torch.testing.assert_close(model(x), F.conv2d(shifted, model[1].conv.weight, model[1].conv.bias, 2, 1))
    swings[0].offset = None
    rng = np.random.default_rng(3)
    with swinging(swings, rng):
        assert swings[0].offset == tuple(int(v) for v in np.random.default_rng(3).integers(0, 3, size=2))
    assert swings[0].offset is None


def test_genie_generator_shapes_and_learning_rate_decay():
    generator = ConvGenerator(latent_dim=8, channels=3, height=10, width=12).train()
    images = generator(torch.randn(5, 8))
    assert images.shape == (5, 3, 10, 12)  # made at 12 x 12 and centre-cropped
    assert generator_lr(0.01, 99) == 0.01 and abs(generator_lr(0.01, 250) - 0.01 * 0.95**2) < 1e-12
