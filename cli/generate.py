"""`datagen generate`: model in, calibration dataset out."""

from __future__ import annotations

import time

import click
from onnx_datagen.cli.options import build_config, config_options, echo_listing

from onnx_datagen.config import Method
from onnx_datagen.errors import ConfigError


def _list_presets(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from onnx_datagen.presets import describe_presets

    echo_listing(describe_presets())
    ctx.exit(0)


@click.command("generate")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "--list-presets", is_flag=True, is_eager=True, expose_value=False, callback=_list_presets,
    help="list the presets, one line each, and exit",
)  # fmt: skip
@click.option("-n", "--n-images", type=int, default=1024, show_default=True, help="number of images")
@click.option("-o", "--output", default="calib", show_default=True, help="output directory (must be empty)")
@click.option(
    "--format",
    "formats",
    default="npy,png",
    show_default=True,
    help="comma-separated formats/toolchains: npy, png, openvino, onnxruntime, ... (datagen export --list)",
)
@click.option("--layout", default=None, help="tensor layout for the formats that take one (qnn: nhwc|nchw)")
@click.option("--overwrite", is_flag=True, help="replace the dataset already in the output directory")
@click.option("--input", "input_name", default=None, help="image input name, when the model has several")
@click.option("--size", nargs=2, type=int, default=None, metavar="H W", help="image size, for dynamic H/W inputs")
@click.option("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
@click.option("-q", "--quiet", is_flag=True, help="no progress output")
@config_options
def generate_command(
    model: str,
    n_images: int,
    output: str,
    formats: str,
    layout: str | None,
    overwrite: bool,
    input_name: str | None,
    size: tuple[int, int] | None,
    threads: int | None,
    quiet: bool,
    **options,
) -> None:
    """Optimise images until their BatchNorm statistics in MODEL match the stored ones.

    Every optimisation setting has an option below; --config FILE sets many at once. Defaults follow
    Sony MCT's PyTorch data generation except where docs/decisions.md says why not.

    \b
    Example:
      datagen generate model.onnx --n-images 1024 -o calib/
      datagen generate model.onnx --normalization cifar10 --n-iter 200 --precision fast -o calib/
      datagen generate model.onnx --size 224 224 --config my_config.yaml --format npy -o calib/
      datagen generate folded_model.onnx --preset fractal -o calib/   # no BatchNorm statistics needed
    """
    from onnx_datagen.exporters import USAGE, check_formats, parse_formats, spec

    from onnx_datagen.files import prepare_output_dir
    from onnx_datagen.generation import generate
    from onnx_datagen.graph.prepare import load_model_input, prepare_model
    from onnx_datagen.progress import ProgressPrinter

    config = build_config(options)
    format_names = parse_formats(formats)
    if n_images <= 0:
        raise ConfigError(f"--n-images must be a positive integer, got {n_images}")
    # Fail on the model, formats and output directory before minutes of optimisation, not after.
    size = tuple(size) if size else None
    if config.method is Method.FRACTAL:  # no model in the loop: only its image input matters
        prepared = load_model_input(model, input_name, size)
    else:
        prepared = prepare_model(model, input_name, size, use_bn=config.method is Method.BN_INVERSION)
    config.normalization.per_channel(prepared.image.channels)
    check_formats(format_names, prepared.image.channels, layout)
    prepare_output_dir(output, overwrite)
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))

    progress = ProgressPrinter("quiet" if quiet else "auto")
    started = time.perf_counter()
    try:
        dataset = generate(prepared, n_images, config, progress=progress)
    finally:
        progress.close()
    out = dataset.save(output, format_names, layout=layout, overwrite=True)
    if quiet:
        return
    stats = dataset.manifest["statistics"]
    _, c, h, w = dataset.images.shape
    click.echo(
        f"wrote {len(dataset)} {config.method.value} images ({c}x{h}x{w}) to {out}/ as {', '.join(format_names)} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    if stats is not None:
        ratio = stats["bn_loss_final"] / stats["bn_loss_initial"] if stats["bn_loss_initial"] else 0.0
        click.echo(
            f"  BN loss {stats['bn_loss_initial']:.4g} -> {stats['bn_loss_final']:.4g} ({ratio:.1%} of initial); "
            f"BN match {stats['bn_match_initial']:.3f} -> {stats['bn_match_final']:.3f} (0 = exact)"
        )
    click.echo(
        f"  clipped when written as 8-bit pixels: {dataset.manifest['clipped_fraction_8bit']:.2%}; "
        f"details in {out / 'manifest.json'}"
    )
    for name in format_names:  # how to feed each toolchain export (its USAGE.md)
        usage = out / spec(name).folder / USAGE
        if spec(name).folder and usage.is_file():
            click.echo("\n" + usage.read_text(encoding="utf-8"))
