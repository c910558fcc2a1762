"""`datagen train-generator`: train the `generator` method's conditional generator and keep it as ONNX."""

from __future__ import annotations

from pathlib import Path

import click
from onnx_datagen.cli.options import build_config, config_options

from onnx_datagen.errors import OutputError


@click.command("train-generator")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="generator.onnx", show_default=True, help="the generator's .onnx file")
@click.option("--overwrite", is_flag=True, help="replace an existing output file")
@click.option("--input", "input_name", default=None, help="image input name, when the model has several")
@click.option("--size", nargs=2, type=int, default=None, metavar="H W", help="image size, for dynamic H/W inputs")
@click.option("-q", "--quiet", is_flag=True, help="no progress output")
@config_options
def train_generator_command(
    model: str, output: str, overwrite: bool, input_name: str | None, size: tuple[int, int] | None, quiet: bool,
    **options,
) -> None:  # fmt: skip
    """Train a conditional image generator on MODEL's BatchNorm statistics and class outputs, with no data.

    Settings start from `--preset generator` (override any of them, e.g. --n-iter); the result is one
    ONNX file that makes any number of images for MODEL in milliseconds, with `datagen sample`, or the
    starting images of any other preset with `datagen generate --init-from`.

    \b
    Example:
      datagen train-generator model.onnx -o gen.onnx
      datagen sample gen.onnx -n 50000 -o calib/
      datagen generate model.onnx --preset dgh --init-from gen.onnx -o refined/
    """
    import time

    from onnx_datagen.methods.generator import train_generator
    from onnx_datagen.run.progress import ProgressPrinter

    options["preset"] = options.get("preset") or "generator"
    config = build_config(options)
    out = Path(output)
    if out.exists() and (out.is_dir() or not overwrite):
        raise OutputError(f"{out} already exists; choose another -o/--output or pass --overwrite")
    progress = ProgressPrinter("quiet" if quiet else "auto")
    progress.expect(config.n_iter, 1)
    started = time.perf_counter()
    try:
        train_generator(model, out, config, input_name=input_name, size=tuple(size) if size else None,
                        progress=progress)  # fmt: skip
    finally:
        progress.close()
    if not quiet:
        click.echo(f"wrote the generator to {out} ({config.n_iter} steps in {time.perf_counter() - started:.1f} s)")
        click.echo(f"  sample it: datagen sample {out} -n 1024 -o calib/")
