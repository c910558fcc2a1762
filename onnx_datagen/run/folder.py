"""An output folder that fills group by group, so a killed run resumes where it stopped.

While a run is unfinished, manifest.json says `"status": "running"` with a progress record, and every
finished group sits in groups/ as one .npz written atomically. Once all groups are in, their images are
streamed into groups/images.npy (one group in memory at a time), the formats are written from it in
chunks, then the complete manifest, and only then is groups/ removed. A shard ends with
`"status": "shard"` and keeps its groups/ for `datagen merge`. At no point does a folder that is not
complete say `"status": "complete"`.
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import numpy as np

from onnx_datagen._version import __version__
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.config.parsing import RENAMED_KEYS
from onnx_datagen.errors import ConfigError, OutputError
from onnx_datagen.files import MANIFEST, atomic_write, atomic_write_json, prepare_output_dir, write_npy_chunks
from onnx_datagen.methods.base import GroupResult
from onnx_datagen.objective.report import StatisticsTargets
from onnx_datagen.run.groups import Shard

GROUPS = "groups"
TARGETS = "targets.npz"
STACKED = "images.npy"  # all groups' images in one file, from which the formats are written


def group_file(index: int) -> str:
    return f"{GROUPS}/group-{index:06d}.npz"


def read_manifest(folder: Path) -> dict | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise OutputError(f"{path} is not a datagen manifest ({err}); choose another -o/--output") from err


def saved_groups(out: Path) -> list[int]:
    """The indices of the groups whose files are in `out` (a file exists only once complete)."""
    return sorted(int(p.stem.split("-")[1]) for p in (Path(out) / GROUPS).glob("group-*.npz"))


def job_difference(old: dict, new: dict, path: str = "") -> str | None:
    """The first field where two job records differ, as 'field: A vs B', or None when equal."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        where = f"{path}.{key}" if path else key
        if key == "path":  # the same file may sit elsewhere; the sha256 decides
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found = job_difference(a, b, where)
            if found:
                return found
        elif key not in old or key not in new:  # a manifest of an older version, say
            return f"{where}: missing {'in the folder' if key not in old else 'now'}"
        elif a != b:
            return f"{where}: {json.dumps(a)} vs {json.dumps(b)}"
    return None


# Settings whose default is resolved per model, at the value that runs made before the setting existed
BEFORE_THEY_EXISTED = {"per_image_share": 0.0}


def upgraded_job(job: dict) -> dict:
    """A job record an earlier version wrote, in today's terms: renamed settings under their new names (backend is
    engine), and settings added since at their defaults, which keep the behaviour runs had before they existed."""
    config = job.get("config")
    if not isinstance(config, dict):
        return job
    config = {RENAMED_KEYS.get(key, key): value for key, value in config.items()}
    return {**job, "config": _with_defaults(config, {**GenerationConfig().to_dict(), **BEFORE_THEY_EXISTED})}


def _with_defaults(values: dict, defaults: dict) -> dict:
    out = dict(values)
    for key, default in defaults.items():
        if key not in out:
            out[key] = default
        elif isinstance(out[key], dict) and isinstance(default, dict):
            out[key] = _with_defaults(out[key], default)
    return out


class RunFolder:
    """The output folder of one job (or one shard of it)."""

    def __init__(self, out: Path, manifest: dict) -> None:
        self.out, self.manifest = out, manifest

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    @classmethod
    def open(
        cls,
        out: str | Path,
        job: dict,
        shard: Shard | None,
        formats: list[str],
        layout: str | None,
        resume: bool,
        overwrite: bool,
    ) -> RunFolder:
        """Continue the run already in `out` (resume), or start a new one in an empty (or overwritten) folder."""
        out = Path(out)
        existing = read_manifest(out) if out.is_dir() else None
        shard_record = {"index": shard.index, "count": shard.count} if shard else None
        if existing is not None and resume and not overwrite:
            where = f"cannot resume {out}"
            difference = job_difference(upgraded_job(existing.get("job") or {}), job)
            if difference:
                raise ConfigError(
                    f"{where}: it holds another job ({difference}, folder vs now); rerun with the folder's "
                    "model and options, or use another -o/--output"
                )
            if existing.get("shard") != shard_record:
                raise ConfigError(
                    f"{where}: it holds shard {_shard_text(existing.get('shard'))}, not {_shard_text(shard_record)}; "
                    "give the same --shard as before"
                )
            folder = cls(out, existing)
            if folder.complete:  # killed after the complete manifest, before groups/ was deleted
                shutil.rmtree(out / GROUPS, ignore_errors=True)
            else:
                folder.manifest.update(formats=formats, layout=layout)
            return folder
        if existing is not None and existing.get("status") in ("running", "shard") and not overwrite:
            done = len(existing.get("progress", {}).get("done", []))
            total = existing.get("progress", {}).get("groups", "?")
            raise OutputError(
                f"{out} holds an unfinished datagen run ({done} of {total} groups done); pass --resume to "
                "continue it, or --overwrite to start over"
            )
        out = prepare_output_dir(out, overwrite)
        # A kill between a group file's rename and its manifest entry leaves a group the manifest does not list;
        # start() adopts every group file, so an overwritten run must not find the old job's.
        shutil.rmtree(out / GROUPS, ignore_errors=True)
        folder = cls(
            out,
            {
                "tool": "onnx-datagen",
                "version": __version__,
                "status": "running",
                "job": job,
                "shard": shard_record,
                "formats": formats,
                "layout": layout,
                "progress": {"groups": None, "done": []},
                "files": {GROUPS: []},
            },
        )
        folder._save()  # the first write: a read-only or full folder fails here, before any work
        return folder

    def start(self, groups: int, targets: StatisticsTargets | None) -> list[int]:
        """Record how many groups this run makes; return those already finished (their files are the truth)."""
        if targets is not None and not (self.out / GROUPS / TARGETS).is_file():
            atomic_write(self.out / GROUPS / TARGETS, lambda tmp: _savez(tmp, targets.arrays()))
        done = saved_groups(self.out)
        self.manifest["progress"] = {"groups": groups, "done": done, "updated": _now()}
        self.manifest["files"] = {GROUPS: [group_file(i) for i in done] + [f"{GROUPS}/{TARGETS}"]}
        self._save()
        return done

    def store(self, result: GroupResult, run: dict) -> None:
        """Keep one finished group (atomically), then record it."""
        atomic_write(self.out / group_file(result.group.index), lambda tmp: _savez(tmp, result.arrays()))
        self.manifest.setdefault("run", run)
        progress = self.manifest["progress"]
        progress["done"] = sorted({*progress["done"], result.group.index})
        progress["updated"] = _now()
        self.manifest["files"][GROUPS] = [group_file(i) for i in progress["done"]] + [f"{GROUPS}/{TARGETS}"]
        self._save()

    def results(self, indices: list[int]) -> list[GroupResult]:
        """The groups' records without their images (stack_images streams those)."""
        out = []
        for index in indices:
            with np.load(self.out / group_file(index)) as arrays:
                out.append(GroupResult.from_arrays(arrays, images=False))
        return out

    def group_images(self, index: int) -> np.ndarray:
        with np.load(self.out / group_file(index)) as arrays:
            return arrays["images"]

    def targets(self) -> StatisticsTargets | None:
        path = self.out / GROUPS / TARGETS
        if not path.is_file():
            return None
        with np.load(path) as arrays:
            return StatisticsTargets.from_arrays(arrays)

    def finish_shard(self) -> None:
        self.manifest["status"] = "shard"
        self._save()

    def stacked_images(self) -> Path:
        """Where all groups' images are stacked before the formats are written."""
        return self.out / GROUPS / STACKED

    def finish(self, dataset) -> None:
        """Write the dataset's formats and complete manifest, then drop the groups it was assembled from."""
        dataset.write(self.out, self.manifest["formats"], self.manifest["layout"])
        self.manifest = dataset.manifest
        shutil.rmtree(self.out / GROUPS, ignore_errors=True)

    def _save(self) -> None:
        atomic_write_json(self.out / MANIFEST, self.manifest)


def stack_images(groups: list[tuple[RunFolder, int]], shape: tuple[int, ...], path: Path) -> None:
    """The images of (folder, group index) pairs, in that order, streamed into one .npy of `shape` at `path`."""
    write_npy_chunks(path, (folder.group_images(index) for folder, index in groups), shape)


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _shard_text(record: dict | None) -> str:
    return f"{record['index']}/{record['count']}" if record else "none (a whole run)"
