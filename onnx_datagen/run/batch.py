"""`datagen batch`: many generate jobs from one YAML file, in sequence, each to its own folder.

    defaults:              # optional: merged into every job (a job's own config keys win)
      n_images: 1024
      preset: mct
      config: {n_iter: 200}
    jobs:
      - model: models/resnet20.onnx
        output: calib/resnet20
        config: {normalization: {name: cifar10}}
      - model: models/mobilenet.onnx
        output: calib/mobilenet
        size: [224, 224]

Every job runs with resume on: rerunning the file continues unfinished jobs and skips complete ones.
A failing job is reported and the next one still runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.config.parsing import load_config_file
from onnx_datagen.config.presets import config_data
from onnx_datagen.engines.base import ProgressSink
from onnx_datagen.errors import ConfigError, UserError
from onnx_datagen.run.jobs import GenerationJob, run_job

JOB_KEYS = {"model", "output", "n_images", "preset", "config", "format", "layout", "input", "size"}


@dataclass
class BatchRow:
    """One line of the summary table."""

    model: str
    output: str
    images: int | None = None
    seconds: float = 0.0
    bn_loss_final: float | None = None
    error: str | None = None


def read_jobs(path: str | Path, ray_address: str | None = None) -> list[GenerationJob]:
    """The jobs of a batch file, with relative paths taken from the file's folder; every problem named at once."""

    path = Path(path)
    data = load_config_file(path)
    base = path.resolve().parent
    defaults, entries = data.get("defaults") or {}, data.get("jobs")
    unknown_top = set(data) - {"defaults", "jobs"}
    if unknown_top or not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: a batch file holds `jobs:` (a non-empty list) and optionally `defaults:`")
    jobs = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}, job {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: each job is a mapping with at least model and output")
        merged = {**defaults, **entry}
        config = {**_config(defaults.get("config"), base), **_config(entry.get("config"), base)}
        unknown = set(merged) - JOB_KEYS
        if unknown:
            raise ConfigError(
                f"{where}: unknown keys {', '.join(sorted(unknown))}; valid: {', '.join(sorted(JOB_KEYS))}"
            )
        if "model" not in merged or "output" not in merged:
            raise ConfigError(f"{where}: give both model and output")
        formats = merged.get("format", "npy,png")
        try:
            generation = GenerationConfig.from_dict(config_data(merged.get("preset"), config))
            job = GenerationJob(
                model=base / str(merged["model"]),
                output=base / str(merged["output"]),
                n_images=merged.get("n_images", 1024),
                config=generation,
                formats=formats.split(",") if isinstance(formats, str) else list(formats),
                layout=merged.get("layout"),
                input_name=merged.get("input"),
                size=tuple(merged["size"]) if merged.get("size") else None,
                resume=True,
                ray_address=ray_address,
            )
        except UserError as err:
            raise ConfigError(f"{where}: {err}") from None
        jobs.append(job)
    return jobs


def _config(value, base: Path) -> dict:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return load_config_file(base / str(value))


def run_batch(
    jobs: list[GenerationJob], progress_for: Callable[[GenerationJob], ProgressSink] | None = None
) -> list[BatchRow]:
    """Run every job; a user error in one (bad model, diverged loss, full disk) is recorded, not raised."""
    rows = []
    for job in jobs:
        row = BatchRow(str(job.model), str(job.output))
        started = time.perf_counter()
        progress = progress_for(job) if progress_for else None
        try:
            outcome = run_job(job, progress)
            stats = outcome.dataset.manifest.get("statistics") if outcome.dataset else None
            row.images = len(outcome.dataset) if outcome.dataset else None
            row.bn_loss_final = stats["bn_loss_final"] if stats else None
        except UserError as err:
            row.error = str(err)
        finally:
            if progress is not None and hasattr(progress, "close"):
                progress.close()
        row.seconds = time.perf_counter() - started
        rows.append(row)
    return rows
