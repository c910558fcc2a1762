"""The model as a method needs it: loaded for its image input alone (fractal), or prepared for optimisation with
or without its BN layers (prior), and the settings that this model cannot use turned off."""

from __future__ import annotations

import logging
from pathlib import Path

import onnx

from onnx_datagen.config.settings import GenerationConfig, Method, OutputLoss
from onnx_datagen.graph.heads import classifier_classes, output_classes
from onnx_datagen.graph.image_input import describe_dims, tensor_dims
from onnx_datagen.graph.prepare import ModelInput, PreparedModel, load_model_input, prepare_model

log = logging.getLogger("onnx_datagen")


def load_source(
    model: str | Path | onnx.ModelProto | ModelInput | PreparedModel,
    config: GenerationConfig,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
) -> ModelInput | PreparedModel:
    """The model as the method needs it: its image input only (fractal), or rewritten for optimisation."""
    if isinstance(model, (ModelInput, PreparedModel)):
        source = model
    elif config.method is Method.FRACTAL:
        source = load_model_input(model, input_name, size)
    else:
        source = prepare_model(model, input_name, size, use_bn=config.method is not Method.PRIOR)
    config.normalization.per_channel(source.image.channels)  # fails early on a mean/std of the wrong length
    return source


def fit_to_model(source: ModelInput | PreparedModel, config: GenerationConfig) -> GenerationConfig:
    """The config as this model runs it. The output term stretches class scores apart; a model without an
    [N, K] first output (detection, segmentation) runs with it off: BN inversion needs no logits, and on a
    dense-prediction model the term scored the same at twice the time (benchmarks/DENSE.md)."""
    if not isinstance(source, PreparedModel):
        return config
    if config.class_weight:
        classifier_classes(source)  # refuses class targets on a model without class scores, before any note
    if config.output_loss is OutputLoss.NONE:
        return config
    if not config.output_loss_multiplier or output_classes(source) is not None:
        return config
    dims = describe_dims(tensor_dims(source.model.graph.output[0]))
    log.warning(
        "%s: the first output is %s, not class scores [N, K]; --output-loss %s is off for this model",
        source.label,
        dims,
        config.output_loss.value,
    )
    return config.replace(output_loss=OutputLoss.NONE)
