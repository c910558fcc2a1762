"""`inspect`: what datagen reads in a model, and what `generate` would do with it, found by running generate's own
preparation (the method choice, the graph rewrite, the engine's conversion and one forward pass), with no step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.errors import UserError
from onnx_datagen.graph.inspection import ModelReport, read_model
from onnx_datagen.methods.registry import load_for_method


def inspect(
    path: str | Path,
    config: GenerationConfig | None = None,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
) -> ModelReport:
    """Describe the model at `path` and predict `generate`: `method` is what it runs, `problem` why it refuses.

    A file that cannot be read at all raises the ModelError `generate` raises.
    """
    report = read_model(path)
    # Without a config the normalisation is not given: one value fits any channel count, so everything else is
    # checked, and the input check names the convention that fits without judging the placeholder.
    given = config is not None
    config = config or GenerationConfig(normalization=Normalization((0.5,), (0.25,), name="custom"))
    try:
        method, source, resolved = load_for_method(path, config, input_name, size)
        maker = method.image_maker(
            source, resolved
        )  # the engine: conversion and a forward probe, as generate builds it
        check = maker.input_check()
    except UserError as err:
        verdict = report.verdict if report.verdict == "corrupt-bn" else "unsupported"
        problem = str(err).removeprefix(f"{path}: ")  # the report names the file already
        return dataclasses.replace(report, verdict=verdict, problem=problem, method=None)
    fit = dict(input_fit=check.best, input_warning=check.warning if given else None) if check else {}
    return dataclasses.replace(report, problem=None, method=resolved.method.value, advice=report.problem, **fit)
