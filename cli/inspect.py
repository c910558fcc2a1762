"""`datagen inspect`: what datagen sees in a model."""

from __future__ import annotations

import json

import click


@click.command("inspect")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def inspect_command(model: str, as_json: bool) -> None:
    """Show a model's input, outputs, opset, BatchNorm layers and whether datagen can use it.

    \b
    Example:
      datagen inspect model.onnx
      datagen inspect model.onnx --json | jq .verdict
    """
    from onnx_datagen.graph.inspection import inspect

    report = inspect(model)
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
        click.echo(f"  {i:3d}  {layer.name:<{width}}  {layer.channels:5d} ch  input from {layer.producer}")
    click.echo(f"verdict   {report.verdict}" + (f": {report.problem}" if report.problem else ""))


def _graph_note(report) -> str:
    """What datagen did to the graph before reading it, and the opset the engines run it at."""
    read = "read with constants folded" if report.constants_folded else "read as exported"
    if report.engine_opset is None:
        return f"{read}; opset {report.opset} has no form the engines run (see verdict)"
    if report.engine_opset == report.opset:
        return f"{read}; runs at opset {report.opset} as exported"
    rewrote = f", rewriting {', '.join(report.rewritten_ops)}" if report.rewritten_ops else ""
    return f"{read}; runs at opset {report.engine_opset}, lowered from {report.opset}{rewrote}"
