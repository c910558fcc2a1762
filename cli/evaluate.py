"""`datagen evaluate`: float vs quantized accuracy, agreement and SQNR on a labelled image set."""

from __future__ import annotations

import json

import click
from onnx_datagen.cli.options import build_normalization, normalization_options

from onnx_datagen.errors import ConfigError


@click.command("evaluate")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--quantized", type=click.Path(dir_okay=False), default=None, help="quantized model to compare")
@click.option(
    "--data", required=True,
    help=".npz with uint8 N x H x W x C 'images' (+ 'labels'), or a folder with one subfolder of images per class",
)  # fmt: skip
@click.option("--range", "index_range", default=None, metavar="START:END", help="evaluate images [START:END] only")
@click.option("--threads", type=int, default=None, help="ONNX Runtime threads (default: its choice)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@normalization_options
def evaluate_command(
    model: str,
    quantized: str | None,
    data: str,
    index_range: str | None,
    threads: int | None,
    as_json: bool,
    **normalization,
) -> None:
    """Top-1 of MODEL (and of --quantized), their top-1 agreement, and each output's SQNR and cosine on --data.

    Agreement, SQNR and cosine compare the quantized outputs with the float ones, so they need no labels;
    top-1 and agreement are shown for classifiers (a first output of N x classes) only.

    \b
    Example:
      datagen evaluate model.onnx --quantized model.int8.onnx --data test.npz
      datagen evaluate model.onnx --quantized model.int8.onnx --data val_folders/ --json
    """
    from onnx_datagen.quant.evaluate import evaluate

    report = evaluate(model, data, quantized, build_normalization(normalization), _range(index_range), threads)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    rows = [
        ("images", f"{report.n_images}"),
        ("float top-1", _pct(report.float_top1)),
        ("quantized top-1", _pct(report.quantized_top1)),
        ("top-1 agreement", _pct(report.top1_agreement)),
    ]
    rows += [(f"output {o.name}", f"SQNR {o.sqnr_db:.2f} dB, cosine {o.cosine:.5f}") for o in report.outputs]
    for name, value in rows:
        if value != "-" or (name.startswith("float") and quantized is None):
            click.echo(f"{name:16s} {value}")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} %"


def _range(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    try:
        start, end = text.split(":")
        return (int(start) if start else None), (int(end) if end else None)
    except ValueError:
        raise ConfigError(f"--range takes START:END (e.g. 1017:9488), got {text!r}") from None
