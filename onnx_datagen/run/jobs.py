"""Generation as a job on disk: sharded, resumable, on this machine or on Ray; merging the shards after."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.config.parsing import check_n_images
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.engines.base import Group, ProgressSink
from onnx_datagen.errors import ConfigError, UserError
from onnx_datagen.exporters import check_formats, disk_bytes, parse_formats
from onnx_datagen.files import prepare_output_dir, require_free_space, scratch_file
from onnx_datagen.methods.registry import load_for_method
from onnx_datagen.run.folder import STACKED, RunFolder, job_difference, read_manifest, saved_groups, stack_images
from onnx_datagen.run.generate import assemble, dataset_from_file, job_record
from onnx_datagen.run.groups import GroupRunner, Shard, plan_groups, statistics_targets
from onnx_datagen.run.ray_cluster import check_ray, run_on_ray


@dataclass
class GenerationJob:
    """One `datagen generate` run: what to make, where, and how to run it."""

    model: str | Path
    output: str | Path
    n_images: int = 1024
    config: GenerationConfig = field(default_factory=GenerationConfig)
    formats: list[str] = field(default_factory=lambda: ["npy", "png"])
    layout: str | None = None
    input_name: str | None = None
    size: tuple[int, int] | None = None
    shard: Shard | None = None
    resume: bool = False
    overwrite: bool = False
    ray_address: str | None = None  # "local" starts a local Ray instance; else a cluster address

    def __post_init__(self) -> None:

        check_n_images(self.n_images)

    def groups(self, config: ResolvedConfig) -> tuple[list[Group], list[Group]]:
        """All of the job's groups under `config` (the job's, resolved for the model), and the ones this run makes."""
        every = plan_groups(self.n_images, config)
        return every, self.shard.select(every) if self.shard else every


@dataclass
class JobOutcome:
    output: Path
    dataset: Dataset | None  # None for a shard (its images are joined by merge)
    groups_made: int  # groups optimised by this call (a resumed run skips the finished ones)
    groups_total: int  # groups of this run (this shard's, when sharded)
    seconds: float


def run_job(job: GenerationJob, progress: ProgressSink | None = None, started: float | None = None) -> JobOutcome:
    """Run (or continue, with job.resume) a job into its output folder; see run_folder for the folder's states.
    `started`: the time.perf_counter() the caller's work on the job began at (default: now), which a time budget
    counts from."""

    started = time.perf_counter() if started is None else started
    formats = parse_formats(job.formats)
    method, source, config = load_for_method(job.model, job.config, job.input_name, job.size)
    check_formats(formats, source.image.channels, job.layout)
    if config.time_budget and (job.shard or job.ray_address):
        raise ConfigError(
            f"--time-budget measures this machine, and {'shards' if job.shard else 'Ray tasks'} run elsewhere; give "
            "--n-iter instead (a --time-budget run's manifest says how many iterations its budget bought)"
        )
    groups, mine = job.groups(config)
    if job.shard and job.shard.count > len(groups):
        raise ConfigError(
            f"--shard {job.shard}: this job has only {len(groups)} groups of {method.group_size(config)} images; "
            f"use at most {len(groups)} shards, or a smaller --group-size"
        )
    _check_disk_space(job, formats, source.image.chw, mine)
    # Before touching the folder: local runs convert the model, Ray runs check Ray and the address, so a
    # model, option, install or address the engine refuses leaves no half-started run behind.
    if job.ray_address:
        check_ray(job.ray_address)
    runner = None if job.ray_address else GroupRunner(source, config)
    if runner is not None:
        config = runner.plan(config, job.n_images, time.perf_counter() - started, _budgeted_iterations(job, config))
    record = job_record(source, config, job.n_images)
    folder = RunFolder.open(job.output, record, job.shard, formats, job.layout, job.resume, job.overwrite)
    if folder.complete:
        return JobOutcome(folder.out, Dataset.load(folder.out), 0, len(mine), time.perf_counter() - started)
    done = set(folder.start(len(mine), statistics_targets(source)))
    pending = [g for g in mine if g.index not in done]
    if hasattr(progress, "expect"):  # a display with an ETA over the whole run (run/progress.ProgressPrinter)
        batches = sum(-(-g.size // config.batch_size) for g in pending)
        progress.expect(method.steps(config, batches), len(groups))
    try:
        if job.ray_address:
            run_on_ray(job.ray_address, source, config, pending, folder.store, progress)
        else:
            for group in pending:
                folder.store(runner.run(group, progress), runner.run_record())
    except KeyboardInterrupt:
        finished = len(folder.manifest["progress"]["done"])
        raise KeyboardInterrupt(
            f"interrupted; {finished} of {len(mine)} groups are saved in {folder.out}: "
            "rerun the same command with --resume to continue"
        ) from None
    if job.shard:
        folder.finish_shard()
        dataset = None
    else:
        indices = [g.index for g in groups]
        stack_images([(folder, i) for i in indices], images_shape(record), folder.stacked_images())
        dataset = dataset_from_file(record, folder.stacked_images())
        assemble(record, folder.manifest.get("run", {}), folder.targets(), folder.results(indices), dataset)
        folder.finish(dataset)
    return JobOutcome(folder.out, dataset, len(pending), len(mine), time.perf_counter() - started)


def _budgeted_iterations(job: GenerationJob, config: ResolvedConfig) -> int | None:
    """The iterations an earlier run of this job chose for the same --time-budget (resume continues that job)."""
    if not (config.time_budget and job.resume):
        return None
    earlier = read_manifest(Path(job.output)) if Path(job.output).is_dir() else None
    chosen = ((earlier or {}).get("job") or {}).get("config") or {}
    return chosen.get("n_iter") if chosen.get("time_budget") == config.time_budget else None


def _check_disk_space(job: GenerationJob, formats: list[str], chw: tuple[int, int, int], mine: list[Group]) -> None:
    """Before any work: the groups still to make, the stacked images and every format must fit on the disk."""

    done = set(saved_groups(job.output)) if job.resume else set()
    float_bytes = math.prod(chw) * 4
    work = sum(g.size for g in mine if g.index not in done) * float_bytes  # groups/*.npz
    needed = {}
    if not job.shard:  # a shard writes only its groups
        needed = disk_bytes(formats, job.n_images, chw)
        if "npy" not in formats:  # the stacked images the formats are written from (the npy file itself if asked)
            work += job.n_images * float_bytes
    needed["work files"] = work
    require_free_space(job.output, needed, f"{job.n_images} images of {'x'.join(map(str, chw))}")


def merge_shards(shard_dirs: list[str | Path], output: str | Path, overwrite: bool = False) -> Dataset:
    """Join the shards of one job into one dataset, in every format any shard was asked for."""

    if not shard_dirs:
        raise UserError("give the shard folders to merge: datagen merge SHARD_DIR... -o OUT")
    folders = []
    for directory in map(Path, shard_dirs):
        manifest = read_manifest(directory) if directory.is_dir() else None
        status = (manifest or {}).get("status")
        if manifest is None or status not in ("shard", "running") or not manifest.get("shard"):
            raise UserError(f"{directory} is not a datagen shard folder; give the -o folders of `generate --shard`")
        if status == "running":
            shard = manifest["shard"]
            raise UserError(
                f"{directory} holds shard {shard['index']}/{shard['count']} unfinished; "
                "rerun its command with --resume first"
            )
        folders.append(RunFolder(directory, manifest))
    first = folders[0]
    for other in folders[1:]:
        difference = job_difference(first.manifest["job"], other.manifest["job"])
        if difference:
            raise UserError(
                f"{first.out} and {other.out} are shards of different jobs ({difference}); "
                "merge only shards of one command"
            )
    count = first.manifest["shard"]["count"]
    by_index: dict[int, Path] = {}
    for folder in folders:
        shard = folder.manifest["shard"]
        if shard["count"] != count:
            raise UserError(f"{folder.out} is shard {shard['index']}/{shard['count']}, the others are out of {count}")
        if shard["index"] in by_index:
            raise UserError(
                f"shard {shard['index']}/{count} is given twice: {by_index[shard['index']]} and {folder.out}"
            )
        by_index[shard["index"]] = folder.out
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in by_index]
    if missing:
        raise UserError(f"shard {', '.join(missing)} missing; generate it with --shard and merge all {count}")
    job = first.manifest["job"]
    done = [(folder, i) for folder in folders for i in folder.manifest["progress"]["done"]]
    formats = list(dict.fromkeys(name for folder in folders for name in folder.manifest["formats"]))
    chw = tuple(job["image_shape"])
    needed = {**disk_bytes(formats, job["n_images"], chw), "work files": job["n_images"] * math.prod(chw) * 4}
    require_free_space(output, needed, f"{job['n_images']} images of {'x'.join(map(str, chw))}")
    out = prepare_output_dir(output, overwrite)
    with scratch_file(out, STACKED) as stacked:
        stack_images(sorted(done, key=lambda pair: pair[1]), images_shape(job), stacked)
        dataset = dataset_from_file(job, stacked)
        results = [r for folder in folders for r in folder.results(folder.manifest["progress"]["done"])]
        assemble(job, first.manifest.get("run", {}), first.targets(), results, dataset)
        dataset.manifest["merged_from"] = [str(by_index[k]) for k in sorted(by_index)]
        dataset.write(out, formats, first.manifest.get("layout"))
    return dataset


def images_shape(job: dict) -> tuple[int, ...]:
    return (job["n_images"], *job["image_shape"])
