"""Which activation ranges make one calibration set beat another under ORT W8A8 MinMax, on MobileNetV2.

Quantize with set A and with set B (`datagen quantize`'s MinMax settings), then score A's model with B's scale
and zero point put in for one group of activation tensors at a time: the model input, the convolutions that a
ReLU6 clips (ORT folds the clip into the range: zero point 0), the linear convolutions, the residual sums, the
head (pooling, flatten, logits). Agreement: top-1 agreement with the float model on the held-out photos of
benchmarks/suites/imagenet/run.py, whose cached sets (--work/sets/NAME_N.npy) A and B name.

    .bench/bin/python -m benchmarks.probes.range_swap.run --work /work/bench/imagenet notail_s0 prior48_s1
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.pipelines.imagenet import cached_sets_arguments, normalise, split_images

HEAD = ("GlobalAveragePool", "Flatten", "Gemm")


def tensor_groups(model: onnx.ModelProto) -> dict[str, list[tuple[str, str]]]:
    """group -> (scale, zero point) initializer names of each activation QuantizeLinear in it."""
    constants = {t.name: t for t in model.graph.initializer}
    producer = {out: node.op_type for node in model.graph.node for out in node.output}
    groups: dict[str, list[tuple[str, str]]] = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in constants:
            continue
        op = producer.get(node.input[0], "input")
        if op == "DequantizeLinear":
            continue
        if op == "Conv":
            clipped = int(numpy_helper.to_array(constants[node.input[2]])) == 0
            op = "Conv clipped by ReLU6" if clipped else "Conv, linear"
        group = "head" if op in HEAD else op
        groups.setdefault(group, []).append((node.input[1], node.input[2]))
    return groups


def with_ranges(model: onnx.ModelProto, donor: onnx.ModelProto, names: set[str]) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    given = {t.name: t for t in donor.graph.initializer if t.name in names}
    for tensor in out.graph.initializer:
        if tensor.name in given:
            tensor.CopyFrom(given[tensor.name])
    return out


def main() -> None:
    from onnx_datagen.quant.evaluate import compare
    from onnx_datagen.quant.quantize import QuantSettings, quantize
    from onnx_datagen.runtime import inference_session, run_batched

    args = cached_sets_arguments(__doc__, ("a", "b"))
    work = Path(args.work)
    model_path = mobilenet_v2_onnx(work)
    _, heldout = split_images(work, Path(args.shared_data), args.n_real, 1000 - args.n_real)
    heldout = normalise(np.load(heldout)["images"])
    reference = run_batched(inference_session(onnx.load(str(model_path)), 2), heldout)

    def agreement(model: onnx.ModelProto) -> float:
        return compare(reference, run_batched(inference_session(model, 2), heldout), None).top1_agreement

    quantized = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in (args.a, args.b):
            out = Path(tmp) / f"{name}.onnx"
            images = np.load(work / "sets" / f"{name}_{args.n_images}.npy")
            quantize(model_path, out, images, QuantSettings(method="minmax"))
            quantized[name] = onnx.load(str(out))
    a, b = quantized[args.a], quantized[args.b]
    print("| ranges | tensors | ORT W8A8 MinMax agreement |\n|---|---|---|")
    print(f"| all {args.a}'s | – | {agreement(a):.1f} |\n| all {args.b}'s | – | {agreement(b):.1f} |")
    for group, pairs in tensor_groups(a).items():
        swapped = with_ranges(a, b, {name for pair in pairs for name in pair})
        print(f"| {args.a}'s, {args.b}'s on {group} | {len(pairs)} | {agreement(swapped):.1f} |", flush=True)


if __name__ == "__main__":
    main()
