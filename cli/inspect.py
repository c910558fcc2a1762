"""`datagen inspect`: what datagen sees in a model."""

from __future__ import annotations

import json

import click
from onnx_datagen.cli.options import build_normalization, normalization_options

from onnx_datagen.config.generation import GenerationConfig


@click.command("inspect")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--input", "input_name", default=None, help="image input name, when the model has several")
@click.option("--size", nargs=2, type=int, default=None, metavar="H W", help="image size, for dynamic H/W inputs")
@normalization_options
def inspect_command(model: str, as_json: bool, input_name: str | None, size: tuple[int, int] | None, **norm) -> None:
    """Show a model's input, outputs, opset, BatchNorm layers, and what `datagen generate` does with it.

    It runs generate's preparation (the graph rewrite and the engine's conversion, no optimisation step), so a
    model it says generates is one generate takes. With BN statistics it names the input normalisation the first BN
    layers fit, and with normalisation options it checks those against them as generate does.

    \b
    Example:
      datagen inspect model.onnx
      datagen inspect model.onnx --json | jq .verdict
      datagen inspect model.onnx --mean 0 --std 1 --pixel-scale 255
    """
    from onnx_datagen.run.inspect import inspect

    given = any(v is not None for v in norm.values())
    config = GenerationConfig(normalization=build_normalization(norm)) if given else None
    report = inspect(model, config, input_name=input_name, size=size)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    producer = report.producer or "unknown producer"
    click.echo(f"model     {report.path} (opset {report.opset}, IR {report.ir_version}, {producer})")
    for t in report.inputs:
        mark = (
            "  <- image input" + (f" ({report.layout})" if report.layout else "")
            if t.name == report.image_input
            else ""
        )
        click.echo(f"input     {t.name}: {t.dtype} {t.shape}{mark}")
    for t in report.outputs:
        click.echo(f"output    {t.name}: {t.dtype} {t.shape}")
    click.echo(f"graph     {_graph_note(report)}")
    click.echo(f"BatchNorm {len(report.bn_layers)} layer(s)")
    width = max([len(layer.name) for layer in report.bn_layers] + [4])
    for i, layer in enumerate(report.bn_layers):
        notes = [f"{layer.dead_channels} dead left out"] if layer.dead_channels else []
        notes += [] if layer.std_known else ["means only: its std is folded into a scale"]
        extra = f"  ({'; '.join(notes)})" if notes else ""
        click.echo(f"  {i:3d}  {layer.name:<{width}}  {layer.channels:5d} ch  input from {layer.producer}{extra}")
    click.echo(f"verdict   {report.verdict}" + (f": {report.problem}" if report.problem else ""))
    if report.method:
        click.echo(f"generate  --method {report.method}" + _method_note(report))
    if report.input_fit:
        click.echo(f"input fit {report.input_fit}")
    if report.input_warning:
        click.echo(f"warning   {report.input_warning}")
    if report.advice:
        click.echo(f"advice    {report.advice}")


def _graph_note(report) -> str:
    """What datagen did to the graph before reading it, and the opset the engines run it at."""
    read = "read with constants folded" if report.constants_folded else "read as exported"
    if report.engine_opset is None:
        return f"{read}; opset {report.opset} has no form the engines run (see verdict)"
    if report.engine_opset == report.opset:
        return f"{read}; runs at opset {report.opset} as exported"
    rewrote = f", rewriting {', '.join(report.rewritten_ops)}" if report.rewritten_ops else ""
    return f"{read}; runs at opset {report.engine_opset}, lowered from {report.opset}{rewrote}"


def _method_note(report) -> str:
    if report.method != "prior" or report.verdict not in ("bn-folded", "no-bn"):
        return ""
    return " (no BN statistics: the prior preset's settings; --method fractal for model-free images)"
