"""What datagen reads in a model file, before any engine: inputs, outputs, opset, BatchNorm layers and their verdict.
run/inspect.py adds what generate's own preparation makes of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import onnx

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.bn import bn_problem, bn_verdict, find_bn_sites
from onnx_datagen.graph.image_input import describe_dims, find_image_input, graph_inputs, tensor_dims
from onnx_datagen.graph.load import load_model, opset_version
from onnx_datagen.graph.normalize import fold_constants, needs_normalization, with_plain_constants
from onnx_datagen.graph.opset17 import lower_to_opset17
from onnx_datagen.graph.validate import validate_model


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: str


@dataclass(frozen=True)
class BnLayerInfo:
    name: str
    channels: int  # the channels matched (dead ones left out)
    producer: str
    dead_channels: int
    std_known: bool  # False for a decomposed BN: its means are matched, its std is folded into a scale


@dataclass(frozen=True)
class ModelReport:
    path: str
    opset: int
    ir_version: int
    producer: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    image_input: str | None  # name of the image input, or None with `problem` saying why
    image_shape: str | None
    layout: str | None
    bn_layers: list[BnLayerInfo]
    verdict: str  # ready | corrupt-bn | bn-folded | no-bn | unsupported
    problem: str | None  # why generate refuses the model (None: it generates)
    constants_folded: bool  # layers and verdict were read after folding constant subgraphs, as the engines read them
    engine_opset: int | None  # the opset the engines run the graph at; None when it has no opset-17 form (problem)
    rewritten_ops: list[str]  # op types rewritten to reach engine_opset; other ops changed after 17 are relabelled
    method: str | None = None  # what `generate` with these options runs (run/inspect.py fills it in); None: refused
    advice: str | None = None  # for bn-folded / no-bn models that generate: how to get BN statistics after all
    input_fit: str | None = None  # the input normalisation the first BN layers fit best (None: no statistics)
    input_warning: str | None = None  # the given normalisation fits clearly worse (objective/input_convention.py)

    def to_dict(self) -> dict:
        return asdict(self)


def read_model(path: str | Path) -> ModelReport:
    """Describe the model file at `path`: inputs, outputs, opset, BatchNorm layers, and their verdict."""
    raw = load_model(path)
    # The graph the engines start from, at its exported opset: reading it needs no opset conversion.
    model = with_plain_constants(raw)
    model = fold_constants(model) if needs_normalization(model) else model
    validate_model(model, str(path))  # a broken file is refused as generate refuses it
    sites = find_bn_sites(model)
    verdict = bn_verdict(model, sites)
    problem = bn_problem(model, verdict)
    image_name = layout = image_shape = None
    try:
        image = find_image_input(model, resolve_size=False)
        image_name, layout = image.name, image.layout
        image_shape = describe_dims([image.batch, *(d or None for d in image.chw)])
    except ModelError as err:
        if verdict == "ready":
            verdict, problem = "unsupported", str(err)
    engine_opset, rewritten = None, []
    try:
        lowered = lower_to_opset17(model)
        engine_opset, rewritten = opset_version(lowered.model), lowered.rewritten
    except ModelError as err:  # no method runs on a graph the engines cannot read
        verdict, problem = "unsupported", str(err)
    return ModelReport(
        path=str(path),
        opset=opset_version(raw),
        ir_version=raw.ir_version,
        producer=f"{raw.producer_name} {raw.producer_version}".strip(),
        inputs=[_tensor_info(v) for v in graph_inputs(raw)],
        outputs=[_tensor_info(v) for v in raw.graph.output],
        image_input=image_name,
        image_shape=image_shape,
        layout=layout,
        bn_layers=[BnLayerInfo(s.name, s.channels, s.producer, s.dead_channels, s.std_known) for s in sites],
        verdict=verdict,
        problem=problem,
        constants_folded=len(model.graph.node) < len(raw.graph.node),
        engine_opset=engine_opset,
        rewritten_ops=rewritten,
    )


def _tensor_info(value: onnx.ValueInfoProto) -> TensorInfo:
    elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
    dtype = onnx.TensorProto.DataType.Name(elem).lower() if elem else "unknown"
    return TensorInfo(value.name, dtype, describe_dims(tensor_dims(value)))
