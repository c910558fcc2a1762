"""Which engine optimises the images: --backend torch, ort-training, or auto (torch, else ort-training)."""

from __future__ import annotations

import logging

from onnx_datagen.config.settings import Engine, GenerationConfig, Method
from onnx_datagen.engines.base import Backend
from onnx_datagen.errors import ConfigError, ConversionError, DependencyError
from onnx_datagen.graph.prepare import PreparedModel

log = logging.getLogger("onnx_datagen")


def make_backend(prepared: PreparedModel, config: GenerationConfig) -> Backend:
    if config.method is Method.GENERATOR:
        if config.backend is Engine.ORT_TRAINING:
            raise ConfigError("--method generator trains a torch generator; use --backend torch or auto")
        from onnx_datagen.methods.generator import GeneratorBackend

        return GeneratorBackend(prepared, config)
    if config.backend is Engine.ORT_TRAINING:
        from onnx_datagen.engines.ort_training.engine import OrtTrainingBackend

        return OrtTrainingBackend(prepared, config)
    from onnx_datagen.engines.torch.engine import TorchBackend

    try:
        return TorchBackend(prepared, config)
    except ConversionError as err:
        if config.backend is Engine.TORCH:
            raise
        from onnx_datagen.engines.ort_training.engine import EXTRA, OrtTrainingBackend

        try:
            backend = OrtTrainingBackend(prepared, config)
        except DependencyError:
            raise ConversionError(
                f"{err}; --backend auto falls back to ort-training for such models: install {EXTRA} in its own "
                "environment"
            ) from err
        log.warning("%s; --backend auto uses ort-training instead", err)
        return backend
