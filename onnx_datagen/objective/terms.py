"""The loss terms a config switches on, in the order they add up, and which of them are also written in graph
values (objective/lowering.py). An engine that builds its loss as ONNX nodes runs the lowered ones and refuses the
rest by the option that switched them on, so a new term is refused there until someone lowers it."""

from __future__ import annotations

from dataclasses import dataclass

from onnx_datagen.config.settings import BnLoss, GenerationConfig, OutputLoss

# The BN and output losses whose arithmetic runs on graph values (tested in tests/objective/test_lowering.py).
LOWERED_BN_LOSSES = {BnLoss.L2_SQUARE, BnLoss.L2_NORM_MEAN_VAR}
LOWERED_OUTPUT_LOSSES = {OutputLoss.NONE, OutputLoss.NEGATIVE_MIN_MAX, OutputLoss.INVERSE_MIN_MAX}


@dataclass(frozen=True)
class Term:
    option: str  # what switched it on, as a refusal names it
    lowered: bool  # runs on graph values too


def active_terms(config: GenerationConfig) -> list[Term]:
    """BN alignment, the output term, class targets, then the image priors: the order they add up in."""
    c = config
    terms = [Term(f"--bn-loss {c.bn_loss.value}", c.bn_loss in LOWERED_BN_LOSSES)]
    if c.sample_enhancement:
        terms.append(Term("--sample-enhancement", False))
    if c.output_loss_multiplier and c.output_loss is not OutputLoss.NONE:
        terms.append(Term(f"--output-loss {c.output_loss.value}", c.output_loss in LOWERED_OUTPUT_LOSSES))
    if c.class_weight:
        terms.append(Term("class targets (--labels, --ce-weight)", False))
    for option, weight in (("--tv-weight", c.tv_weight), ("--l2-weight", c.l2_weight),
                           ("--correlation-weight", c.correlation_weight)):  # fmt: skip
        if weight:
            terms.append(Term(option, False))
    return terms


def unlowered(config: GenerationConfig) -> list[str]:
    """The options of the active terms that have no graph-value form."""
    return [t.option for t in active_terms(config) if not t.lowered]
