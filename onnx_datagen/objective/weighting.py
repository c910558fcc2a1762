"""Weights of the BN-alignment terms: index 0 is the input pseudo-layer, then BN layers in graph order."""

from __future__ import annotations

from onnx_datagen.config.choices import LayerWeighting


def average(n_bn: int, input_term: bool, multiplier: float) -> list[float]:
    n_terms = n_bn + int(input_term)
    return [1.0 / n_terms if input_term else 0.0] + [1.0 / n_terms] * n_bn


def first_layer_multiplier(n_bn: int, input_term: bool, multiplier: float) -> list[float]:
    """The first BN layer gets `multiplier`, every other term 1 (MCT puts it on the input term: quirk Q2)."""
    return [1.0 if input_term else 0.0] + [multiplier] + [1.0] * (n_bn - 1)


def unweighted_sum(n_bn: int, input_term: bool, multiplier: float) -> list[float]:
    return [1.0 if input_term else 0.0] + [1.0] * n_bn


LAYER_WEIGHTINGS = {
    LayerWeighting.AVERAGE: average,
    LayerWeighting.FIRST_LAYER_MULTIPLIER: first_layer_multiplier,
    LayerWeighting.SUM: unweighted_sum,
}
