"""Every method, by its --method value: adding one is a module in methods/ and a line here. --method auto is
resolved here, once the model is read."""

from __future__ import annotations

import dataclasses
import logging

from onnx_datagen.config.choices import Method
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.config.presets import load_preset
from onnx_datagen.errors import NoStatisticsError
from onnx_datagen.graph.heads import output_classes
from onnx_datagen.graph.prepare import ModelInput, PreparedModel, load_model_input
from onnx_datagen.methods import bn_inversion, fractal, generator, prior
from onnx_datagen.methods.base import ImageMethod, ModelSource

log = logging.getLogger("onnx_datagen")

METHODS: dict[Method, ImageMethod] = {
    m.name: m for m in (bn_inversion.METHOD, fractal.METHOD, generator.METHOD, prior.METHOD)
}
# What --method auto makes for a model without BN statistics: the prior preset, the best measured method that needs
# none (docs/presets.md), at the iterations the image size gets by default.
NO_STATISTICS_PRESET = "prior"


def method_for(config: GenerationConfig) -> ImageMethod:
    """The method that runs `config`; an unresolved auto (a model already prepared for BN) is BN inversion."""
    return METHODS[Method.BN_INVERSION if config.method is Method.AUTO else config.method]


def load_for_method(
    model, config: GenerationConfig, input_name: str | None = None, size=None
) -> tuple[ImageMethod, ModelSource, ResolvedConfig]:
    """The method, the model as it needs it, and the config resolved for that model; --method auto resolved.

    auto is BN inversion where the model stores usable BN statistics; on a model without any (folded at export, or
    never had BN) it is the prior preset, said in one line: the config then records method prior, so the manifest
    says what ran.
    """
    if config.method is Method.AUTO:
        if not isinstance(model, (ModelInput, PreparedModel)):
            model = load_model_input(model, input_name, size)  # once, whichever method it gets
        try:
            source = METHODS[Method.BN_INVERSION].source(model, config, input_name, size)
            config = config.replace(method=Method.BN_INVERSION)
        except NoStatisticsError as err:
            fallback = without_statistics(config)
            source = METHODS[fallback.method].source(model, fallback, input_name, size)
            if fallback.ce_weight != config.ce_weight and output_classes(source) is None:
                fallback = fallback.replace(ce_weight=config.ce_weight)  # class targets need class scores
            log.warning(
                "%s: no BatchNorm statistics (%s); --method auto makes images with the %s preset's settings%s "
                "(--method fractal: no model in the loop)",
                source.label,
                err.verdict,
                NO_STATISTICS_PRESET,
                "" if fallback.class_weight else ", without class targets (the model outputs no class scores)",
            )
            config = fallback
            source = dataclasses.replace(source, without_statistics=err.verdict)
    else:
        source = method_for(config).source(model, config, input_name, size)
    method = method_for(config)
    return method, source, method.resolve_config(source, config)


def without_statistics(config: GenerationConfig) -> GenerationConfig:
    """`config` with the no-statistics preset's values wherever it holds the default, n_iter excepted (the image size
    decides it, as for BN inversion: the same time per image)."""
    defaults = GenerationConfig()
    preset = GenerationConfig.from_dict({k: v for k, v in load_preset(NO_STATISTICS_PRESET).items() if k != "n_iter"})
    changes = {
        f.name: getattr(preset, f.name)
        for f in dataclasses.fields(GenerationConfig)
        if getattr(config, f.name) == getattr(defaults, f.name)
    }
    return config.replace(**changes)
