"""The loss composed once: the active terms, their order and weights, and what an engine without a term's
graph-value form refuses."""

import torch

from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.objective.terms import active_terms, compose, unlowered


def test_defaults_are_all_lowered():
    assert [t.option for t in active_terms(GenerationConfig())] == [
        "--bn-loss l2-square",
        "--output-loss negative-min-max",
    ]
    assert unlowered(GenerationConfig()) == []
    w8a4 = GenerationConfig(calibrate_for="w8a4").resolve(32, 32)
    assert [t.option for t in active_terms(w8a4)][-1] == "--tail-weight" and unlowered(w8a4) == []


def test_unlowered_terms_are_named_in_summation_order():
    config = GenerationConfig(
        bn_loss="slack-l2-square", output_loss="regularized-min-max", labels="0-3", l2_weight=1e-5, tv_weight=1e-4
    )
    assert unlowered(config) == [
        "--bn-loss slack-l2-square",
        "--output-loss regularized-min-max",
        "class targets (--labels, --ce-weight)",
        "--tv-weight",
        "--l2-weight",
    ]
    assert (
        unlowered(GenerationConfig(output_loss="regularized-min-max", output_loss_multiplier=0)) == []
    )  # weight 0: off


def test_compose_weights_the_active_terms_and_skips_the_rest():
    config = GenerationConfig(output_loss_multiplier=0.5, tv_weight=2.0, correlation_weight=6.0)
    asked = []

    def value(name, v):
        return lambda: asked.append(name) or (None if v is None else torch.tensor(v))

    values = {"bn": value("bn", 1.0), "output": value("output", -4.0), "tv": value("tv", 0.25),
              "l2": value("l2", 100.0), "correlation": value("correlation", 1.0)}  # fmt: skip
    total, bn, output = compose(config, 3, values, torch.zeros(()))
    assert asked == ["bn", "output", "tv", "correlation"]  # l2 is off: never evaluated
    assert (float(bn), float(output)) == (1.0, -2.0)
    assert float(total) == 1.0 - 2.0 + (2.0 * 0.25 + 6.0 / 3 * 1.0)  # correlation divided by the BN layers
    values["correlation"] = value("correlation", None)  # not applicable to this batch (one image)
    assert float(compose(config, 3, values, torch.zeros(()))[0]) == 1.0 - 2.0 + 0.5
