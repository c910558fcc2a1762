"""generate(): model in, calibration images out; and the manifest every way of running it writes."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import onnx

from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.config.parsing import check_n_images
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.data.manifest import dataset_manifest
from onnx_datagen.engines.base import ProgressSink
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.load import file_sha256
from onnx_datagen.graph.prepare import ModelInput, PreparedModel, model_record
from onnx_datagen.methods.base import GroupResult
from onnx_datagen.methods.registry import load_for_method, method_for
from onnx_datagen.objective.bn_alignment import bn_loss_for
from onnx_datagen.objective.report import StatisticsTargets, statistics_report
from onnx_datagen.objective.weighting import LAYER_WEIGHTINGS
from onnx_datagen.run.groups import GroupRunner, determinism, plan_groups, statistics_targets

log = logging.getLogger("onnx_datagen")
WENT_BACKWARDS = (
    "the BN loss went from %.4g to %.4g: the images match the model's statistics worse than the starting ones did "
    "(the optimisation went backwards); try a lower --lr, --low-res-fraction 0, --pipeline identity or lighter "
    "weights on the other terms"
)


def generate(
    model: str | Path | onnx.ModelProto | ModelInput | PreparedModel,
    n_images: int = 1024,
    config: GenerationConfig | None = None,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    progress: ProgressSink | None = None,
) -> Dataset:
    """Optimise `n_images` images until the model's BatchNorm input statistics match its running statistics
    (or, with config.method fractal, render model-agnostic fractal images sized for the model's input).

    Args:
        model: path of an .onnx file (external data next to it is loaded), an onnx.ModelProto, or a model
            already loaded with ImageMethod.source (input_name and size then unused).
        n_images: how many images to generate.
        config: every optimisation setting; GenerationConfig() gives the defaults.
        input_name: the image input, when the model has several 4-D float inputs.
        size: (height, width), required when the model's input height/width are dynamic.
        progress: called after every optimiser step with a StepReport.

    Returns:
        A Dataset: `.images` is N x C x H x W float32 in model-input space, `.manifest` says how it was made.
        The images are byte for byte those of a sharded or resumed run of the same job (CPU, fp32).

    Example:
        >>> ds = generate("model.onnx", n_images=256, config=GenerationConfig(n_iter=200))
        >>> ds.save("calib/", formats=["npy", "png"])
    """
    started = time.perf_counter()
    config = config or GenerationConfig()
    check_n_images(n_images)
    _, source, config = load_for_method(model, config, input_name, size)
    runner = GroupRunner(source, config)
    config = runner.plan(config, n_images, time.perf_counter() - started)
    images = np.empty((n_images, *source.image.chw), np.float32)
    results = []
    for group in plan_groups(n_images, config):  # each group's images land in place: no second copy of the set
        result = runner.run(group, progress)
        images[group.start : group.start + group.size] = result.images
        results.append(dataclasses.replace(result, images=None))
    job = job_record(source, config, n_images)
    dataset = Dataset.normalised(images, _normalization(job))
    return assemble(job, runner.run_record(), statistics_targets(source), results, dataset)


def job_record(source: ModelInput | PreparedModel, config: ResolvedConfig, n_images: int) -> dict:
    """What decides the images: equal records give equal bytes (the config resolved, so the defaults it ran with
    are spelled out). Resume and merge compare it field by field."""
    groups = plan_groups(n_images, config)
    record = {
        "model": model_record(source),
        "image_shape": list(source.image.chw),
        "n_images": n_images,
        "config": config.to_dict(),
        "group_size": method_for(config).group_size(config),
        "n_groups": len(groups),
    }
    alone = sum(g.size for g in groups if g.per_image)
    if alone:  # the per-image share's images, the set's last
        record["per_image_images"] = alone
    if config.init_from:  # the starting images come from this file: a changed generator is another job
        record["init_from"] = {"path": config.init_from, "sha256": _generator_sha256(config.init_from)}
    return record


def _generator_sha256(path: str) -> str:

    if not Path(path).is_file():
        raise ConfigError(f"--init-from {path}: no such file; give the path of an ONNX generator")
    return file_sha256(path)


def _normalization(job: dict) -> Normalization:
    return GenerationConfig.from_dict(job["config"]).normalization


def dataset_from_file(job: dict, images_file: Path) -> Dataset:
    """The job's dataset over an .npy of all its images, memory-mapped (it may not fit in memory)."""
    return Dataset.normalised(np.load(images_file, mmap_mode="r"), _normalization(job), images_file)


RUN_ONLY = ("label_cycle", "time_estimate")  # run-record entries that the manifest shows elsewhere


def assemble(job: dict, run: dict, targets: StatisticsTargets | None, results: list[GroupResult], dataset: Dataset):
    """`dataset` (the images of all of a job's groups, in group order) with its manifest, from the groups' sums."""
    results = sorted(results, key=lambda r: r.group.index)
    indices = [r.group.index for r in results]
    if indices != list(range(job["n_groups"])):
        raise ValueError(f"assemble needs groups 0..{job['n_groups'] - 1}, got {indices}")
    if list(dataset.images.shape) != [job["n_images"], *job["image_shape"]]:
        raise ValueError(f"assemble needs {job['n_images']} images of {job['image_shape']}")
    config = GenerationConfig.from_dict(job["config"])
    seconds = sum(r.seconds for r in results)
    statistics = None
    if targets is not None:
        weights = LAYER_WEIGHTINGS[config.layer_weighting](
            len(targets.names) - 1, config.input_term, config.first_layer_multiplier
        )
        initial, final = _total([r.initial for r in results]), _total([r.final for r in results])
        statistics = statistics_report(targets, weights, bn_loss_for(config), initial.statistics(), final.statistics())
        statistics["steps_taken_back"] = sum(r.backtracks for r in results)
        statistics["groups_optimised_again"] = sum(r.attempts > 1 for r in results)
        statistics["went_backwards"] = statistics["bn_loss_final"] > statistics["bn_loss_initial"]
        if statistics["went_backwards"]:
            log.warning(WENT_BACKWARDS, statistics["bn_loss_initial"], statistics["bn_loss_final"])
    if not method_for(config).optimises:
        timing = {"render_seconds": round(seconds, 3)}
    else:
        planned = len(dataset) * config.n_iter
        counted = all(r.iterations is not None for r in results)  # not in run folders from before budget deadlines
        done = sum(r.group.size * r.iterations for r in results) if counted else planned
        rate = done / seconds if seconds else None
        timing = {"optimize_seconds": round(seconds, 3), "images_x_iterations_per_second": rate and round(rate, 2)}
        if done != planned:  # a time budget's deadline ended the optimisation, before or after (run/budget.Pacing)
            timing["iterations_done"] = round(done / len(dataset), 2)
        timing.update(run.get("time_estimate") or {})  # what was expected before the run (and its budget)
    dataset.manifest = dataset_manifest(
        dataset,
        model=job["model"],
        method=config.method.value,
        normalization=config.normalization.name,
        seed=config.seed,
        made_by={"config": job["config"], "job": job, **{k: v for k, v in run.items() if k not in RUN_ONLY}},
        determinism=determinism(config, "iterations_done" in timing),
        timing=timing,
        statistics=statistics,
        diversity=_total([r.diversity for r in results]).report() if results[0].diversity else None,
    )
    cycle = run.get("label_cycle")
    if cycle:  # the class each image was pushed towards
        dataset.manifest["labels"] = [cycle[i % len(cycle)] for i in range(len(dataset))]
    return dataset


def _total(parts: list):
    """The sum of LayerSums or DiversitySums, in group order."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
