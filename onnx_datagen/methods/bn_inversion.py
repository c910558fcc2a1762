"""BN inversion (ZeroQ, DeepInversion, MCT, DGH, DSG, GENIE): images optimised until the statistics they produce at
every BatchNorm input match the running statistics stored in the model."""

from __future__ import annotations

from onnx_datagen.config.choices import Method
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.graph.prepare import PreparedModel, prepare_model
from onnx_datagen.methods.base import EngineMaker, ImageMethod, choose_engine, without_unusable_output_loss


class BnInversion(ImageMethod):
    name = Method.BN_INVERSION
    use_bn = True

    def load(self, model, input_name, size) -> PreparedModel:
        return prepare_model(model, input_name, size, use_bn=self.use_bn)

    def resolve_config(self, source: PreparedModel, config: GenerationConfig) -> ResolvedConfig:
        return without_unusable_output_loss(source, super().resolve_config(source, config))

    def image_maker(self, source: PreparedModel, config: ResolvedConfig) -> EngineMaker:
        return EngineMaker(choose_engine(source, config), source)


METHOD = BnInversion()
