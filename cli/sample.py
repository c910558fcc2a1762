"""`datagen sample`: images from an ONNX generator, written as a dataset."""

from __future__ import annotations

import click
from onnx_datagen.cli.options import build_normalization, normalization_options


@click.command("sample")
@click.argument("generator", type=click.Path(dir_okay=False))
@click.option("-n", "--n-images", type=int, default=1024, show_default=True, help="number of images")
@click.option("-o", "--output", default="calib", show_default=True, help="output directory (must be empty)")
@click.option("--format", "formats", default="npy,png", show_default=True, help="formats/toolchains, as for generate")
@click.option("--layout", default=None, help="tensor layout for the formats that take one (qnn: nhwc|nchw)")
@click.option("--overwrite", is_flag=True, help="replace the dataset already in the output directory")
@click.option("--seed", type=int, default=0, show_default=True, help="image i's latent code derives from (seed, i)")
@click.option("--labels", default=None, help="'balanced', or classes and ranges (3,5,7 / 0-4) [default: as trained]")
@click.option("-q", "--quiet", is_flag=True, help="print nothing on success")
@normalization_options
def sample_command(
    generator: str, n_images: int, output: str, formats: str, layout: str | None, overwrite: bool, seed: int,
    labels: str | None, quiet: bool, **norm,
) -> None:  # fmt: skip
    """Make N images with GENERATOR, an ONNX file from `datagen train-generator` (or any generator taking
    latents [N, D] and optionally labels [N], and returning model-input images [N, C, H, W]).

    The normalisation options are needed only for generators datagen did not write.

    \b
    Example:
      datagen sample gen.onnx -n 50000 -o calib/
      datagen sample gen.onnx -n 1000 --labels 3 --seed 1 -o cats/
    """
    from onnx_datagen.exporters import check_formats, parse_formats

    from onnx_datagen.files import prepare_output_dir, scratch_file
    from onnx_datagen.images.generator_file import sample

    names = parse_formats(formats)
    given = any(value is not None for value in norm.values())
    out = prepare_output_dir(output, overwrite)
    with scratch_file(out, "images.npy") as stacked:  # -n may exceed memory: the formats stream from this file
        dataset = sample(generator, n_images, seed=seed, labels=labels, images_file=stacked,
                         normalization=build_normalization(norm) if given else None)  # fmt: skip
        check_formats(names, dataset.images.shape[1], layout)
        dataset.write(out, names, layout)
    if not quiet:
        _, c, h, w = dataset.images.shape
        click.echo(
            f"wrote {len(dataset)} images ({c}x{h}x{w}) to {out}/ as {formats} in "
            f"{dataset.manifest['timing']['sample_seconds']:.2f} s of sampling; "
            f"clipped when written as 8-bit pixels: {dataset.manifest['clipped_fraction_8bit']:.2%}"
        )
