"""Prior: BN inversion's loop without BN statistics, for models that have none (BN folded, LayerNorm, GroupNorm):
the input term, image priors and the output term shape the images."""

from __future__ import annotations

from onnx_datagen.config.choices import Method
from onnx_datagen.methods.bn_inversion import BnInversion


class Prior(BnInversion):
    name = Method.PRIOR
    use_bn = False


METHOD = Prior()
