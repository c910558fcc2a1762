"""From an ONNX file to the graph every engine optimises against: BN (and head) inputs as extra outputs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import onnx

from onnx_datagen.graph.bn import BnSite, refuse_corrupt_bn, require_bn_sites
from onnx_datagen.graph.heads import OutputHead, find_output_heads
from onnx_datagen.graph.image_input import ImageInput, find_image_input
from onnx_datagen.graph.load import file_sha256, load_model
from onnx_datagen.graph.normalize import normalize_graph
from onnx_datagen.graph.rewrite import expose_tensors, with_dynamic_batch, with_statistics_views
from onnx_datagen.graph.shapes import with_conv_output_ranks, with_inferred_shapes
from onnx_datagen.graph.validate import validate_convolutions, validate_model


@dataclass(frozen=True)
class ModelInput:
    """A loaded model and its image input, with no BatchNorm requirement (enough for model-free methods)."""

    label: str
    sha256: str
    model: onnx.ModelProto
    image: ImageInput


def load_model_input(
    model: str | Path | onnx.ModelProto, input_name: str | None = None, size: tuple[int, int] | None = None
) -> ModelInput:
    if isinstance(model, onnx.ModelProto):
        label, proto = "model", model
        sha256 = hashlib.sha256(model.SerializeToString()).hexdigest()
    else:
        label, proto = str(model), load_model(model)
        sha256 = file_sha256(model)
    proto = normalize_graph(proto)
    # The declared shapes first (a wrong channel count is named at its Conv, a zero or corrupt size at the input),
    # then onnx's strict, type-checked inference, then the Convs again with every shape it inferred.
    validate_model(proto, label)
    image = find_image_input(proto, input_name, size)
    proto = with_inferred_shapes(proto, label)
    validate_convolutions(proto, label)
    return ModelInput(label, sha256, proto, image)


@dataclass(frozen=True)
class PreparedModel:
    """The rewritten model plus where to find each statistic among its outputs.

    Outputs of `model` are: the original outputs (indices 0..n_outputs-1), then the BN inputs
    (`bn_output_index[i]` for `bn_sites[i]`), then the head inputs (`head_output_index[j]`).
    """

    label: str
    sha256: str
    model: onnx.ModelProto
    image: ImageInput
    n_outputs: int
    bn_sites: list[BnSite]
    bn_output_index: list[int]
    heads: list[OutputHead]
    head_output_index: list[int]
    without_statistics: str | None = None  # why --method auto chose a method that needs none (bn-folded, no-bn)


def prepare_model(
    model: str | Path | onnx.ModelProto | ModelInput,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    use_bn: bool = True,
) -> PreparedModel:
    """The model rewritten for optimisation. use_bn=False (methods that need no statistics) exposes no
    BN inputs, so folded models and models without BatchNorm are accepted.

    Every problem of the model itself is refused here, before an engine is built or a folder written.
    """
    loaded = model if isinstance(model, ModelInput) else load_model_input(model, input_name, size)
    label, sha256, proto, image = loaded.label, loaded.sha256, loaded.model, loaded.image
    if use_bn:
        bn_sites = require_bn_sites(proto, label)
    else:  # the model still runs: NaN or negative statistics would make its outputs, and the loss, NaN
        refuse_corrupt_bn(proto, label)
        bn_sites = []
    if image.batch is not None:
        # Optimisation batches rarely match an exported batch size; engines check the relaxed graph runs.
        proto = with_dynamic_batch(proto, image.name)
    proto = with_conv_output_ranks(with_inferred_shapes(proto, label))
    heads = find_output_heads(proto)
    n_outputs = len(proto.graph.output)
    proto = with_statistics_views(proto, bn_sites)
    rewritten, indices = expose_tensors(proto, [s.statistics for s in bn_sites] + [h.input for h in heads])
    return PreparedModel(
        label, sha256, rewritten, image, n_outputs, bn_sites, indices[: len(bn_sites)], heads, indices[len(bn_sites) :]
    )


def model_record(source: ModelInput | PreparedModel) -> dict:
    """The manifest's `model`: which file, and how its image input is fed (exporters read the input's name)."""
    return {
        "path": source.label,
        "sha256": source.sha256,
        "input": source.image.name,
        "input_layout": source.image.layout,
        "input_batch": source.image.batch,  # fixed batch size, or null when dynamic
        "bn_layers": len(getattr(source, "bn_sites", [])),
    }
