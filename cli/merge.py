"""`datagen merge`: the shards of one sharded `generate` joined into one dataset."""

from __future__ import annotations

import click
from onnx_datagen.cli.generate import print_summary


@click.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, help="output directory for the joined dataset (must be empty)")
@click.option("--overwrite", is_flag=True, help="replace the dataset already in the output directory")
@click.option("-q", "--quiet", is_flag=True, help="print nothing on success")
def merge_command(shards: tuple[str, ...], output: str, overwrite: bool, quiet: bool) -> None:
    """Join the SHARDS of one `datagen generate --shard K/N` job into one dataset.

    Refuses shards of different models, options or seeds, and a missing or repeated shard. The result
    is byte for byte the dataset one uninterrupted run writes, in every format the shards asked for.

    \b
    Example:
      datagen generate model.onnx -n 4096 --shard 1/2 -o part1/
      datagen generate model.onnx -n 4096 --shard 2/2 -o part2/
      datagen merge part1/ part2/ -o calib/
    """
    from onnx_datagen.run.jobs import merge_shards

    dataset = merge_shards(list(shards), output, overwrite)
    if not quiet:
        formats = ", ".join(dataset.manifest["formats"])
        click.echo(f"merged {len(shards)} shards: {len(dataset)} images to {dataset.directory}/ as {formats}")
        print_summary(dataset)
