"""`datagen export`: write an existing dataset in the format a quantization toolchain takes."""

from __future__ import annotations

import click
from onnx_datagen.cli.options import echo_listing

from onnx_datagen.errors import ConfigError


@click.command("export")
@click.argument("dataset_dir", required=False, type=click.Path(file_okay=False))
@click.option("--to", "names", default=None, metavar="NAME[,NAME]", help="toolchain(s) to export for (see --list)")
@click.option("-o", "--output", default=None, help="write NAME/ under this folder instead of the dataset's")
@click.option("--layout", default=None, help="tensor layout, for the toolchains that take one (qnn: nhwc|nchw)")
@click.option("--overwrite", is_flag=True, help="replace an earlier export of the same toolchain")
@click.option("--list", "list_only", is_flag=True, help="list the toolchains, one line each, and exit")
@click.option("-q", "--quiet", is_flag=True, help="print only the folders written, not the usage snippets")
def export_command(
    dataset_dir: str | None,
    names: str | None,
    output: str | None,
    layout: str | None,
    overwrite: bool,
    list_only: bool,
    quiet: bool,
) -> None:
    """Convert DATASET_DIR (written by `datagen generate`) for a quantization toolchain, without regenerating.

    Each toolchain gets its own subfolder with the files, export.json (layout, dtype, value range and
    space, file list) and USAGE.md, the exact command or API call that feeds them to the toolchain.

    \b
    Example:
      datagen export --list
      datagen export calib/ --to openvino,onnxruntime
      datagen export calib/ --to qnn --layout nchw -o /data/qnn_calib
    """
    from onnx_datagen.exporters import exporters, parse_formats

    if list_only:
        echo_listing({name: module.SPEC.description for name, module in exporters().items()})
        return
    if dataset_dir is None or names is None:
        raise ConfigError("give a dataset folder and --to NAME (datagen export --list shows the names)")
    from onnx_datagen.data.dataset import Dataset

    targets = parse_formats(names, option="--to")
    dataset = Dataset.load(dataset_dir)
    for result in dataset.export(targets, output, layout=layout, overwrite=overwrite):
        if not quiet and result.usage:
            click.echo(result.usage)
        click.echo(f"wrote {result.name}: {len(result.files)} files in {result.folder}/")
