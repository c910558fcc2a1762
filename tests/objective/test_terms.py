"""The active loss terms, listed once: what an engine without a term's graph-value form refuses."""

from onnx_datagen.config.settings import GenerationConfig
from onnx_datagen.objective.terms import active_terms, unlowered


def test_defaults_are_all_lowered():
    assert [t.option for t in active_terms(GenerationConfig())] == [
        "--bn-loss l2-square",
        "--output-loss negative-min-max",
    ]
    assert unlowered(GenerationConfig()) == []


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
