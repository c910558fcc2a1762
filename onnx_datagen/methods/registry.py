"""Every method, by its --method value: adding one is a module in methods/ and a line here."""

from __future__ import annotations

from onnx_datagen.config.settings import GenerationConfig, Method
from onnx_datagen.methods import bn_inversion, fractal, generator, prior
from onnx_datagen.methods.base import ImageMethod

METHODS: dict[Method, ImageMethod] = {
    m.name: m for m in (bn_inversion.METHOD, fractal.METHOD, generator.METHOD, prior.METHOD)
}


def method_for(config: GenerationConfig) -> ImageMethod:
    return METHODS[config.method]
