"""`datagen generate`: model in, calibration dataset out."""

from __future__ import annotations

import time

import click
from onnx_datagen.cli.options import build_config, config_options, echo_listing, hide_information

from onnx_datagen.config.presets import describe_presets
from onnx_datagen.errors import ConfigError


def _list_presets(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return

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
@click.option(
    "--shard", default=None, metavar="K/N",
    help="make only the K-th of N equal parts of the groups (join them with `datagen merge`)",
)  # fmt: skip
@click.option(
    "--resume", is_flag=True,
    help="continue the unfinished run in the output directory (same model and options); a complete one is kept",
)  # fmt: skip
@click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
    help="run groups as Ray tasks: on a local Ray instance, or on the cluster at ADDRESS (extra: ray)",
)  # fmt: skip
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
    shard: str | None,
    resume: bool,
    ray_address: str | None,
    quiet: bool,
    **options,
) -> None:
    """Optimise images until their BatchNorm statistics in MODEL match the stored ones.

    Every optimisation setting has an option below; --config FILE sets many at once. Defaults follow
    Sony MCT's PyTorch data generation except where docs/decisions.md says why not.

    Finished groups of images are kept in the output directory as they complete: after a crash or
    kill, the same command with --resume redoes only the unfinished ones. For the same model, options
    and seed, a sharded, resumed or Ray run writes the same bytes as one uninterrupted run (CPU, fp32).

    \b
    Example:
      datagen generate model.onnx --n-images 1024 -o calib/
      datagen generate model.onnx --normalization cifar10 --n-iter 200 --precision fast -o calib/
      datagen generate model.onnx --size 224 224 --config my_config.yaml --format npy -o calib/
      datagen generate folded_model.onnx --preset fractal -o calib/   # no BatchNorm statistics needed
      datagen generate model.onnx -n 50000 --shard 3/8 -o part3/       # then: datagen merge part*/ -o calib/
    """
    started = time.perf_counter()  # a --time-budget counts this command's imports too (torch's alone: 1-2 s)
    from onnx_datagen.exporters import USAGE, spec

    from onnx_datagen.run.groups import Shard
    from onnx_datagen.run.jobs import GenerationJob, run_job

    job = GenerationJob(
        model,
        output,
        n_images,
        build_config(options),
        formats.split(","),
        layout,
        input_name,
        tuple(size) if size else None,
        Shard.parse(shard) if shard else None,
        resume,
        overwrite,
        ray_address,
    )
    if threads is not None and ray_address:
        raise ConfigError("--threads sets this process's torch threads; Ray gives each task one CPU: drop one of them")
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    if quiet:
        hide_information()
    from onnx_datagen.run.progress import ProgressPrinter

    progress = ProgressPrinter("quiet" if quiet else "auto")
    try:
        outcome = run_job(job, progress, started)
    finally:
        progress.close()
    if quiet:
        return
    out, dataset = outcome.output, outcome.dataset
    if dataset is None:
        click.echo(
            f"wrote shard {job.shard} ({outcome.groups_total} groups) to {out}/ in {outcome.seconds:.1f} s; "
            f"when all {job.shard.count} are done: datagen merge SHARD_DIRS... -o OUTPUT"
        )
        return
    if outcome.groups_made == 0 and resume:
        click.echo(f"{out}/ already holds the complete dataset of this command; nothing to do")
        return
    _, c, h, w = dataset.images.shape
    method = dataset.manifest["method"]
    click.echo(
        f"wrote {len(dataset)} {method} images ({c}x{h}x{w}) to {out}/ as {', '.join(job.formats)} "
        f"in {outcome.seconds:.1f} s"
    )
    print_summary(dataset)
    for name in dataset.manifest["formats"]:  # how to feed each toolchain export (its USAGE.md)
        usage = out / spec(name).folder / USAGE
        if spec(name).folder and usage.is_file():
            click.echo("\n" + usage.read_text(encoding="utf-8"))


def print_summary(dataset) -> None:
    """The BN loss and match before/after, the diversity and the 8-bit clipping, from the manifest."""
    stats = dataset.manifest["statistics"]
    if stats is not None:
        ratio = stats["bn_loss_final"] / stats["bn_loss_initial"] if stats["bn_loss_initial"] else 0.0
        backwards = ", ABOVE its start: the optimisation went backwards" if stats.get("went_backwards") else ""
        again, taken_back = stats.get("groups_optimised_again"), stats.get("steps_taken_back")
        steps = f"; {again} of its groups optimised again" if again else ""
        steps += f", {taken_back} steps taken back" if taken_back else ""
        click.echo(
            f"  BN loss {stats['bn_loss_initial']:.4g} -> {stats['bn_loss_final']:.4g} ({ratio:.1%} of initial"
            f"{backwards}); BN match {stats['bn_match_initial']:.3f} -> {stats['bn_match_final']:.3f} (0 = exact)"
            f"{steps}"
        )
    alone = dataset.manifest["job"].get("per_image_images")
    if alone:
        click.echo(
            f"  the last {alone} images matched the BN statistics each alone, the others as a set (--per-image-share)"
        )
    done = (dataset.manifest.get("timing") or {}).get("iterations_done")
    if done is not None:
        planned = dataset.manifest["config"]["n_iter"]
        click.echo(f"  the time budget ended the optimisation at {done:g} iterations per image ({planned} planned)")
    if dataset.manifest.get("diversity"):
        from onnx_datagen.data.diversity import describe

        described = describe(dataset.manifest["diversity"])
        if described:  # nothing to say on a model without class scores or a penultimate layer
            click.echo(f"  diversity: {described}")
    click.echo(
        f"  clipped when written as 8-bit pixels: {dataset.manifest['clipped_fraction_8bit']:.2%}; "
        f"details in {dataset.directory / 'manifest.json'}"
    )
    click.echo(f"  look at them: {dataset.directory / dataset.manifest['preview']}")
