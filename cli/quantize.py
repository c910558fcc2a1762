"""`datagen quantize`: ONNX Runtime static quantization calibrated with a dataset (or a random baseline)."""

from __future__ import annotations

from pathlib import Path

import click
from onnx_datagen.cli.options import build_normalization, normalization_options

from onnx_datagen.errors import OutputError


@click.command("quantize")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "--calib",
    required=True,
    help="calibration data: a datagen dataset folder, an .npy in model-input space, an .npz or class-folder "
    "tree of real images, or gaussian / uniform (random baselines)",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="quantized model path (.onnx)")
@click.option("--overwrite", is_flag=True, help="replace an existing output file")
@click.option("--weight-type", type=click.Choice(["int8", "uint8", "int4", "uint4"]), default="int8", show_default=True)
@click.option(
    "--activation-type",
    type=click.Choice(["uint8", "int8", "uint16", "int16", "uint4", "int4"]),
    default="uint8",
    show_default=True,
    help="4-bit activations run in ORT only as fake quantisation (ORT_ENABLE_BASIC)",
)
@click.option(
    "--method", type=click.Choice(["minmax", "entropy", "percentile"]), default="minmax", show_default=True,
    help="how activation ranges are chosen from the calibration data",
)  # fmt: skip
@click.option("--percentile", type=float, default=99.999, show_default=True, help="for --method percentile")
@click.option("--per-tensor", is_flag=True, help="per-tensor weight scales instead of per-channel")
@click.option("-n", "--n-samples", type=int, default=None, help="use the first N images [default: all; 256 random]")
@click.option("--batch-size", type=int, default=32, show_default=True, help="images per calibration batch")
@click.option(
    "--chunk-batches", type=int, default=None,
    help="calibrate this many batches at a time to bound memory on large sets [default: all at once]",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the gaussian/uniform baselines")
@click.option("--size", nargs=2, type=int, default=None, metavar="H W", help="image size, for dynamic H/W inputs")
@normalization_options
def quantize_command(
    model: str,
    calib: str,
    output: str,
    overwrite: bool,
    weight_type: str,
    activation_type: str,
    method: str,
    percentile: float,
    per_tensor: bool,
    n_samples: int | None,
    batch_size: int,
    chunk_batches: int | None,
    seed: int,
    size: tuple[int, int] | None,
    **normalization,
) -> None:
    """Quantize MODEL to a QDQ model with ONNX Runtime, calibrated with --calib.

    Weights are symmetric per channel, activations asymmetric per tensor. The normalisation
    options apply to real images and the uniform baseline; datagen datasets are already model input.

    \b
    Example:
      datagen quantize model.onnx --calib calib/ -o model.int8.onnx
      datagen quantize model.onnx --calib calib/ --activation-type uint4 --method percentile -o model.a4.onnx
      datagen quantize model.onnx --calib gaussian -o model.noise.onnx      # the random-data baseline
    """
    from onnx_datagen.quant.quantize import QuantSettings, quantize

    if Path(output).exists() and not overwrite:
        raise OutputError(f"{output} exists; choose another -o/--output or pass --overwrite")
    settings = QuantSettings(
        weight_type=weight_type,
        activation_type=activation_type,
        method=method,
        percentile=percentile,
        per_channel=not per_tensor,
        n_samples=n_samples,
        batch_size=batch_size,
        chunk_batches=chunk_batches,
    )
    result = quantize(
        model, output, calib, settings, build_normalization(normalization), tuple(size) if size else None, seed
    )
    click.echo(f"wrote {result.output} ({settings.label}; calibrated on {result.calibration}, "
               f"{result.n_calibration_images} images)")  # fmt: skip
    if result.precision_warning:
        click.echo(f"warning: {result.precision_warning}", err=True)
    if result.needs_basic_optimization:
        click.echo(
            "  4-bit activations: ONNX Runtime has no kernels for them; run this model with "
            "graph_optimization_level=ORT_ENABLE_BASIC (datagen evaluate does)"
        )
