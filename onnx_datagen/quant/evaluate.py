"""How well a quantized model does against its float model on an image set: per output SQNR and cosine, and for
classifiers top-1 (with labels) and top-1 agreement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from onnx_datagen.config.normalization import Normalization
from onnx_datagen.data.image_sets import load_labelled
from onnx_datagen.graph.image_input import find_image_input
from onnx_datagen.graph.load import load_model
from onnx_datagen.quant.quantize import to_model_layout
from onnx_datagen.runtime import inference_session, run_all_outputs


@dataclass
class OutputScore:
    """How close one quantized output is to the float one."""

    name: str
    sqnr_db: float  # 10 log10(sum f^2 / sum (f - q)^2) over all images
    cosine: float  # mean over images of the cosine similarity of the flattened float and quantized outputs


@dataclass
class EvaluationReport:
    """Percentages, except the SQNRs and cosines. Quantized fields are None without a quantized model; top-1
    without labels or when the first output is no [N, classes] score vector (detection, segmentation)."""

    n_images: int
    float_top1: float | None
    quantized_top1: float | None = None
    top1_agreement: float | None = None  # % of images where quantized and float predict the same class
    sqnr_db: float | None = None  # of the first output (all of them: `outputs`)
    outputs: list[OutputScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(logits.argmax(axis=-1) == labels) * 100.0)


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    reference, test = reference.astype(np.float64), test.astype(np.float64)
    noise = np.sum((reference - test) ** 2)
    return float("inf") if noise == 0 else float(10.0 * np.log10(np.sum(reference**2) / noise))


def cosine(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean over images (axis 0) of the cosine similarity of each image's flattened outputs."""
    a = reference.reshape(len(reference), -1).astype(np.float64)
    b = test.reshape(len(test), -1).astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    same = np.sum(a * b, axis=1)
    # Two all-zero outputs agree exactly; one all-zero output against a non-zero one not at all.
    values = np.where(norms > 0, same / np.where(norms > 0, norms, 1.0), np.all(a == b, axis=1).astype(np.float64))
    return float(values.mean())


def is_classifier_output(output: np.ndarray) -> bool:
    return output.ndim == 2 and output.shape[1] >= 2


def compare(reference: np.ndarray, test: np.ndarray | None, labels: np.ndarray | None) -> EvaluationReport:
    """The report for float outputs `reference` and quantized outputs `test` of one output; top-1 and agreement
    only when it is an N x classes score vector."""
    classifier = is_classifier_output(reference)
    report = EvaluationReport(len(reference), top1(reference, labels) if labels is not None and classifier else None)
    if test is not None:
        if classifier:
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

    float_model = load_model(model)
    image = find_image_input(float_model, resolve_size=False)  # dynamic height/width: the data's size
    size = (image.height, image.width) if image.height and image.width else None
    labelled = load_labelled(data, size, image.channels).subset(*subset)
    inputs = to_model_layout(labelled.model_input(normalization or Normalization()), image)
    reference = run_all_outputs(inference_session(float_model, threads), inputs)
    if quantized is None:
        return compare(reference[0], None, labelled.labels)
    test = run_all_outputs(inference_session(load_model(quantized), threads), inputs)
    report = compare(reference[0], test[0], labelled.labels)
    names = [o.name for o in float_model.graph.output]
    report.outputs = [OutputScore(n, sqnr_db(f, q), cosine(f, q)) for n, f, q in zip(names, reference, test)]
    return report
