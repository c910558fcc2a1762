"""`datagen batch`: the jobs of a YAML file, one after another, with a summary table."""

from __future__ import annotations

import click
from onnx_datagen.cli.options import hide_information


@click.command("batch")
@click.argument("jobs_file", type=click.Path(dir_okay=False))
@click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
    help="run each job's groups as Ray tasks: on a local Ray instance, or the cluster at ADDRESS (extra: ray)",
)  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="no progress output, only the summary table")
def batch_command(jobs_file: str, ray_address: str | None, quiet: bool) -> int:
    """Run the generate jobs listed in JOBS_FILE (YAML), each to its own output folder.

    Jobs run with --resume: rerunning the file continues unfinished jobs and keeps complete ones. A
    failing job does not stop the others; the exit code is 1 if any failed.

    \b
    JOBS_FILE:
      defaults: {n_images: 1024, preset: mct, config: {n_iter: 200}}
      jobs:
        - {model: resnet20.onnx, output: calib/r20, config: {normalization: {name: cifar10}}}
        - {model: mobilenet.onnx, output: calib/mnv2, size: [224, 224], format: npy,openvino}
    """
    from onnx_datagen.run.batch import read_jobs, run_batch

    jobs = read_jobs(jobs_file, ray_address)
    if quiet:
        hide_information()
    from onnx_datagen.run.progress import ProgressPrinter

    rows = run_batch(jobs, None if quiet else lambda job: ProgressPrinter())
    table = [("model", "images", "time", "final BN loss", "output", "result")]
    for row in rows:
        loss = f"{row.bn_loss_final:.4g}" if row.bn_loss_final is not None else "-"
        images = str(row.images) if row.images is not None else "-"
        table.append((row.model, images, f"{row.seconds:.1f} s", loss, row.output, row.error or "ok"))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]) - 1)]
    for line in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])
    failed = sum(1 for row in rows if row.error)
    if failed:
        click.echo(f"datagen: {failed} of {len(rows)} jobs failed", err=True)
        return 1
    return 0
