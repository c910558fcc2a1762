"""Load and validate an ONNX model, translating every onnx failure into a one-line ModelError."""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx

from onnx_datagen.errors import ModelError, first_line


def load_model(path: str | Path) -> onnx.ModelProto:
    """Load `path` (with any external-data side files next to it) and run the ONNX checker."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such file; check the model path")
    if path.is_dir():
        raise ModelError(f"{path} is a directory; give the path of the .onnx file")
    try:
        model = onnx.load(str(path))
    except FileNotFoundError as err:  # a missing external-data file
        raise ModelError(
            f"{path}: external data file {Path(err.filename or '?').name} is missing; keep it next to the model"
        ) from err
    except Exception as err:  # protobuf DecodeError and friends: the bytes are not an ONNX model
        if "external" in str(err).lower() or "TensorProto" in str(err):  # onnx names the tensor and the place
            raise ModelError(
                f"{path}: a weight stored outside the file cannot be read ({first_line(err)}); keep the model's "
                "external data files next to it, or re-export it as one file"
            ) from err
        raise ModelError(
            f"{path} is not an ONNX model, or a truncated or damaged one (cannot parse it: {first_line(err)}); "
            "download or export it again"
        ) from err
    if not model.graph.node and not model.graph.output:
        raise ModelError(f"{path} is not an ONNX model (it holds no graph)")
    try:
        # The path form also validates models over 2 GB and their external data.
        onnx.checker.check_model(str(path))
    except Exception as err:
        raise ModelError(f"{path} is not a valid ONNX model: {first_line(err)}") from err
    return model


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def opset_version(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 0


def convert_opset(model: onnx.ModelProto, target: int, why: str, fix: str) -> onnx.ModelProto:
    """The model at opset `target` (needed for `why`), or a ModelError that ends with `fix`."""
    try:
        return onnx.version_converter.convert_version(model, target)
    except Exception as err:
        raise ModelError(
            f"cannot convert the model from opset {opset_version(model)} to {target} {why} ({first_line(err)}); {fix}"
        ) from err
