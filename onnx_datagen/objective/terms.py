"""The loss of one step, composed once: which terms a config switches on, their weights, the order they add up in,
and which of them are also written in graph values (objective/lowering.py). Both engines compose their loss here;
the one that builds it as ONNX nodes refuses, by the option that switched it on, every active term not lowered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from onnx_datagen.config.choices import BnLoss, OutputLoss
from onnx_datagen.config.generation import GenerationConfig

# The BN and output losses whose arithmetic runs on graph values (tested in tests/objective/test_lowering.py).
LOWERED_BN_LOSSES = {BnLoss.L2_SQUARE, BnLoss.L2_NORM_MEAN_VAR}
LOWERED_OUTPUT_LOSSES = {OutputLoss.NONE, OutputLoss.NEGATIVE_MIN_MAX, OutputLoss.INVERSE_MIN_MAX}


@dataclass(frozen=True)
class Term:
    name: str  # the key an engine supplies the term's value under
    option: str  # what switched it on, as a refusal names it
    weight: float
    lowered: bool  # runs on graph values too


def active_terms(config: GenerationConfig, n_bn_layers: int = 1) -> list[Term]:
    """BN alignment, the output term, the tail penalty, then class targets and the image priors: the order they
    add up in."""
    c = config
    terms = [Term("bn", f"--bn-loss {c.bn_loss.value}", 1.0, c.bn_loss in LOWERED_BN_LOSSES)]
    if c.output_loss_multiplier and c.output_loss is not OutputLoss.NONE:
        lowered = c.output_loss in LOWERED_OUTPUT_LOSSES
        terms.append(Term("output", f"--output-loss {c.output_loss.value}", c.output_loss_multiplier, lowered))
    terms += [
        Term(name, option, weight, lowered)
        for name, option, weight, lowered in (
            ("tail", "--tail-weight", c.tail_weight, True),
            ("class", "class targets (--labels, --ce-weight)", c.class_weight, False),
            ("tv", "--tv-weight", c.tv_weight, False),
            ("l2", "--l2-weight", c.l2_weight, False),
            ("correlation", "--correlation-weight", c.correlation_weight / max(1, n_bn_layers), False),
        )
        if weight
    ]
    return terms


def unlowered(config: GenerationConfig) -> list[str]:
    """The options of the active terms that have no graph-value form."""
    bn, *others = active_terms(config)
    options = [] if bn.lowered else [bn.option]
    if config.sample_enhancement:  # per-image weights inside the BN term, not lowered
        options.append("--sample-enhancement")
    return options + [t.option for t in others if not t.lowered]


def compose(
    config: GenerationConfig, n_bn_layers: int, values: dict[str, Callable[[], Any]], zero: Any
) -> tuple[Any, Any, Any]:
    """(total, BN term, weighted output term) of one step, from each active term's unweighted value: `values[name]()`
    is evaluated only for active terms and may return None where a term does not apply to this batch (decorrelation
    of a single image). Works on torch tensors and on graph values alike."""
    terms = active_terms(config, n_bn_layers)
    bn = values["bn"]()
    output = zero
    priors = None
    for term in terms[1:]:
        value = values[term.name]()
        if value is None:
            continue
        if term.name == "output":
            output = value * term.weight
        else:
            weighted = term.weight * value
            priors = weighted if priors is None else priors + weighted
    total = bn + output
    return (total if priors is None else total + priors), bn, output
