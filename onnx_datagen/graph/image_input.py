"""Find the model's image input and settle its shape."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import onnx

from onnx_datagen.errors import ModelError

Dim = int | str | None  # a fixed size, a symbolic name, or unknown
MAX_DIM = 1 << 16  # beyond any real batch, channel count or side: a corrupt shape (2**62 overflows torch's sizes)
DEFAULT_SIDE = 224  # a dynamic height or width without --size: ImageNet's side, a multiple of every usual stride
log = logging.getLogger("onnx_datagen")


@dataclass(frozen=True)
class ImageInput:
    """The model's image input. channels/height/width are resolved integers; batch is fixed or None."""

    name: str
    channels: int
    height: int
    width: int
    batch: int | None
    layout: str  # "NCHW" or "NHWC" (NHWC inputs come from TensorFlow exports)

    @property
    def chw(self) -> tuple[int, int, int]:
        return self.channels, self.height, self.width


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Real inputs: old exporters also list initializers (defaults) as inputs."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def tensor_dims(value: onnx.ValueInfoProto) -> list[Dim] | None:
    if not value.type.HasField("tensor_type") or not value.type.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in value.type.tensor_type.shape.dim]


def describe_dims(dims: list[Dim] | None) -> str:
    if dims is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def find_image_input(
    model: onnx.ModelProto, name: str | None = None, size: tuple[int, int] | None = None, resolve_size: bool = True
) -> ImageInput:
    """The single 4-D float input (or the one called `name`), with H and W from the graph or `size`.

    A dynamic height/width is DEFAULT_SIDE, with a note (reported as 0 with resolve_size=False).
    """
    _check_defaults(model)
    inputs = graph_inputs(model)
    if name is not None:
        chosen = [i for i in inputs if i.name == name]
        if not chosen:
            raise ModelError(f"the model has no input {name!r}; its inputs are: {_names(inputs)}")
        value = chosen[0]
        if not _is_4d_float(value):
            raise ModelError(f"input {name!r} is not a 4-D float tensor ({_describe(value)}); choose an image input")
    else:
        candidates = [i for i in inputs if _is_4d_float(i)]
        if not candidates:
            raise ModelError(
                f"the model has no 4-D float image input (inputs: {_describe_all(inputs)}); "
                "datagen needs an image classifier-style N x C x H x W float input"
            )
        if len(candidates) > 1:
            raise ModelError(
                f"the model has several image-like inputs ({_names(candidates)}); choose one with --input NAME"
            )
        value = candidates[0]
    others = [i for i in inputs if i.name != value.name]
    if others:
        raise ModelError(
            f"the model has inputs besides the image ({_names(others)}); datagen can feed only one "
            "image input: export the model with the other inputs folded to constants"
        )

    dims = tensor_dims(value)
    layout = _layout(dims)
    c_dim, h_dim, w_dim = (dims[1], dims[2], dims[3]) if layout == "NCHW" else (dims[3], dims[1], dims[2])
    for dim, axis in ((dims[0], "batch"), (c_dim, "channel count"), (h_dim, "height"), (w_dim, "width")):
        if isinstance(dim, int) and (dim == 0 or dim > MAX_DIM):
            what = "zero" if dim == 0 else f"{dim}, beyond any real image input"
            raise ModelError(
                f"input {value.name!r} declares a {axis} of {what} ({describe_dims(dims)}); the file's input shape "
                "is corrupt: re-export the model (a dynamic height/width then takes --size H W)"
            )
    if not isinstance(c_dim, int) or c_dim <= 0:
        raise ModelError(
            f"input {value.name!r} has a dynamic channel dimension ({describe_dims(dims)}); "
            "export the model with a fixed number of channels"
        )
    if size is not None:
        height, width = size
        if height <= 0 or width <= 0:
            raise ModelError(f"--size must be two positive integers, got {height} {width}")
        for got, want, axis in ((h_dim, height, "height"), (w_dim, width, "width")):
            if isinstance(got, int) and got > 0 and got != want:
                raise ModelError(
                    f"--size asks for {axis} {want} but the model's input {axis} is fixed at {got}; "
                    "drop --size or give the model's size"
                )
    elif all(isinstance(d, int) and d > 0 for d in (h_dim, w_dim)):
        height, width = h_dim, w_dim
    elif not resolve_size:
        height = width = 0
    else:  # detectors and OCR models take any size: a common one, said, beats a refusal
        height, width = (d if isinstance(d, int) and d > 0 else DEFAULT_SIDE for d in (h_dim, w_dim))
        log.warning(
            "input %r has a dynamic height/width (%s); making %dx%d images: give --size H W for the size the model "
            "is used at",
            value.name,
            describe_dims(dims),
            height,
            width,
        )
    batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None
    return ImageInput(value.name, c_dim, int(height), int(width), batch, layout)


def _check_defaults(model: onnx.ModelProto) -> None:
    """An input with an initializer is fed that default (datagen feeds only the image), so the two must agree.

    A mismatch passes onnx's checker and fails only in shape inference, as a traceback far from its cause.
    """
    declared = {value.name: value for value in model.graph.input}
    for tensor in model.graph.initializer:
        dims = tensor_dims(declared[tensor.name]) if tensor.name in declared else None
        if dims is None:
            continue
        shape = list(tensor.dims)
        fixed = [(d, n) for d, n in zip(dims, shape) if isinstance(d, int) and d > 0]  # symbolic dims fit any size
        if len(dims) == len(shape) and all(d == n for d, n in fixed):
            continue
        raise ModelError(
            f"input {tensor.name!r} is declared {describe_dims(dims)} but its default value (an initializer) has "
            f"shape {describe_dims(shape)}; datagen feeds the model's inputs ({_names(graph_inputs(model))}) and "
            f"leaves {tensor.name!r} at its default: re-export the model so the two agree"
        )


def _layout(dims: list[Dim]) -> str:
    """NHWC when the last axis looks like channels and axis 1 does not (TensorFlow exports)."""
    channel_like = (1, 3, 4)
    if dims[3] in channel_like and dims[1] not in channel_like:
        return "NHWC"
    return "NCHW"


def _is_4d_float(value: onnx.ValueInfoProto) -> bool:
    dims = tensor_dims(value)
    return dims is not None and len(dims) == 4 and value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def _describe(value: onnx.ValueInfoProto) -> str:
    elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
    type_name = onnx.TensorProto.DataType.Name(elem).lower() if elem else "non-tensor"
    return f"{value.name}: {type_name} {describe_dims(tensor_dims(value))}"


def _describe_all(inputs: list[onnx.ValueInfoProto]) -> str:
    return "; ".join(_describe(i) for i in inputs) or "none"


def _names(values: list[onnx.ValueInfoProto]) -> str:
    return ", ".join(repr(v.name) for v in values)
