"""How well a (quantized) classifier does on a labelled image set: top-1, agreement with float, SQNR."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from onnx_datagen.config import Normalization
from onnx_datagen.graph.image_input import find_image_input
from onnx_datagen.graph.load import load_model


@dataclass
class EvaluationReport:
    """Percentages, except sqnr_db. Quantized fields are None without a quantized model, top-1 without labels."""

    n_images: int
    float_top1: float | None
    quantized_top1: float | None = None
    top1_agreement: float | None = None  # % of images where quantized and float predict the same class
    sqnr_db: float | None = None  # 10 log10(sum f^2 / sum (f - q)^2) over all float/quantized outputs

    def to_dict(self) -> dict:
        return asdict(self)


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(logits.argmax(axis=-1) == labels) * 100.0)


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    reference, test = reference.astype(np.float64), test.astype(np.float64)
    noise = np.sum((reference - test) ** 2)
    return float("inf") if noise == 0 else float(10.0 * np.log10(np.sum(reference**2) / noise))


def compare(reference: np.ndarray, test: np.ndarray | None, labels: np.ndarray | None) -> EvaluationReport:
    """The report for float outputs `reference` and quantized outputs `test` (N x classes)."""
    report = EvaluationReport(len(reference), top1(reference, labels) if labels is not None else None)
    if test is not None:
        report.quantized_top1 = top1(test, labels) if labels is not None else None
        report.top1_agreement = float(np.mean(reference.argmax(-1) == test.argmax(-1)) * 100.0)
        report.sqnr_db = sqnr_db(reference, test)
    return report


def evaluate(
    model: str | Path,
    data: str | Path,
    quantized: str | Path | None = None,
    normalization: Normalization | None = None,
    subset: tuple[int | None, int | None] = (None, None),
    threads: int | None = None,
) -> EvaluationReport:
    """Run `model` (and `quantized`) on the .npz / class-folder set `data`, images [subset[0]:subset[1]]."""
    from onnx_datagen.image_sets import load_labelled
    from onnx_datagen.quantization import to_model_layout
    from onnx_datagen.runtime import inference_session, run_batched

    float_model = load_model(model)
    image = find_image_input(float_model)
    labelled = load_labelled(data, (image.height, image.width), image.channels).subset(*subset)
    inputs = to_model_layout(labelled.model_input(normalization or Normalization()), image)
    reference = run_batched(inference_session(float_model, threads), inputs)
    test = run_batched(inference_session(load_model(quantized), threads), inputs) if quantized is not None else None
    return compare(reference, test, labelled.labels)
