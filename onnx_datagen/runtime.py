"""ONNX Runtime sessions for calibrated and quantized models (the `onnxruntime` extra)."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.deps import require
from onnx_datagen.errors import ModelError

FOUR_BIT = {onnx.TensorProto.INT4, onnx.TensorProto.UINT4}


def has_4bit_activations(model: onnx.ModelProto) -> bool:
    """True when a QuantizeLinear produces 4-bit values: ORT has no kernels for those.

    ORT's default optimisations fuse Q/DQ pairs into QLinearConv & co., which reject 4-bit types,
    so such models only run at ORT_ENABLE_BASIC, where Q/DQ stay as fake quantisation.
    """
    zero_points = {t.name: t.data_type for t in model.graph.initializer}
    return any(
        node.op_type == "QuantizeLinear" and len(node.input) > 2 and zero_points.get(node.input[2]) in FOUR_BIT
        for node in model.graph.node
    )


def inference_session(model: onnx.ModelProto, threads: int | None = None):
    """A CPU session. Quantized (Q/DQ) models run as exact fake quantisation, at ORT_ENABLE_BASIC.

    ORT's full optimisation fuses Q/DQ into integer kernels whose results depend on the CPU: without
    VNNI, its u8s8 kernels saturate 16-bit sums (W8A8 digits model on an AVX2-only EPYC: SQNR 13.4 dB
    fused vs 35.4 dB simulated). Scores must measure the calibration, not the CPU, and 4-bit
    activations only run this way anyway.
    """
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if any(node.op_type == "QuantizeLinear" for node in model.graph.node):
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as err:
        raise ModelError(f"ONNX Runtime cannot run this model: {str(err).strip().splitlines()[0]}") from err


def run_batched(session, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The first output for all images, fed in batches (fixed-batch models get batch 1 or their size)."""
    return run_all_outputs(session, images, batch_size)[0]


def run_all_outputs(session, images: np.ndarray, batch_size: int = 256) -> list[np.ndarray]:
    """Every output for all images, fed in batches (fixed-batch models get their size, the last batch padded)."""
    value = session.get_inputs()[0]
    fixed = value.shape[0] if isinstance(value.shape[0], int) else None
    step = fixed or batch_size
    batches = []
    for start in range(0, len(images), step):
        batch = images[start : start + step]
        if fixed and len(batch) < fixed:
            padded = np.concatenate([batch, np.repeat(batch[-1:], fixed - len(batch), axis=0)])
            batches.append([output[: len(batch)] for output in session.run(None, {value.name: padded})])
        else:
            batches.append(session.run(None, {value.name: batch}))
    return [np.concatenate(parts) for parts in zip(*batches)]
