"""Atomic file writing and output-directory checks: a file either is complete or does not exist."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from onnx_datagen.errors import OutputError

MANIFEST = "manifest.json"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary path in the same directory, then rename it to `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as err:
        raise OutputError(f"cannot write in {path.parent}: {err.strerror or err}; choose another -o/--output") from err
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; others (a toolchain container) must read the data
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:  # full disk, read-only folder, file-size limit: the user's to fix
        raise OutputError(
            f"cannot write {path}: {err.strerror or err}; free space or choose another -o/--output"
        ) from err
    finally:
        tmp.unlink(missing_ok=True)


class ValueRange:
    """The smallest and largest value over arrays seen one at a time (a set written in chunks or feeds)."""

    def __init__(self) -> None:
        self.low, self.high = np.inf, -np.inf

    def see(self, array: np.ndarray) -> np.ndarray:
        if array.size:
            self.low, self.high = min(self.low, float(array.min())), max(self.high, float(array.max()))
        return array

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(low, high), or None when no value was seen."""
        return (self.low, self.high) if self.low <= self.high else None


def write_npy_chunks(path: Path, chunks: Iterable[np.ndarray], shape: tuple[int, ...]) -> tuple[float, float] | None:
    """One float32 .npy of `shape` written chunk by chunk (never whole in memory); returns its value range."""
    seen = ValueRange()

    def write(tmp: Path) -> None:
        rows = 0
        with open(tmp, "wb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_2_0(f, header)
            for chunk in chunks:
                chunk = seen.see(np.ascontiguousarray(chunk, dtype="<f4"))
                f.write(chunk.tobytes())  # a bytes copy of one chunk; the chunks stay small
                rows += len(chunk)
        if rows != shape[0]:
            raise ValueError(f"{path}: {rows} rows written for a shape of {shape}")

    atomic_write(path, write)
    return seen.bounds


@contextmanager
def scratch_file(folder: Path, name: str) -> Iterator[Path]:
    """A hidden file in `folder` for data on its way to the real files, removed whatever happens."""
    path = folder / f".{name}.partial"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_json(path: Path, data: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8"))


def require_free_space(out: str | Path, needed: dict[str, int], what: str) -> None:
    """Refuse before any work when `needed` (bytes by part: each format, work files) exceeds the free space
    of the file system `out` is (or will be) on."""
    where = Path(out).absolute()
    while not where.exists():  # the nearest folder that exists decides the file system
        where = where.parent
    total, free = sum(needed.values()), shutil.disk_usage(where).free
    if total > free:
        parts = ", ".join(f"{name} {human_bytes(size)}" for name, size in needed.items() if size)
        raise OutputError(
            f"{what} need about {human_bytes(total)} on disk ({parts}) but {where} has {human_bytes(free)} free; "
            "make fewer images (-n), write fewer formats, or choose another -o/--output"
        )


def human_bytes(size: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as df -H counts)."""
    units, power = ("B", "KB", "MB", "GB", "TB", "PB"), 0
    while size >= 1000 and power < len(units) - 1:
        size, power = size / 1000, power + 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"


def prepare_output_dir(out_dir: str | Path, overwrite: bool) -> Path:
    """Check `out_dir` can take a new dataset; with overwrite, remove the previous dataset's files.

    The old manifest goes first, so an interrupted overwrite never looks like a complete dataset.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a directory; choose another -o/--output")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputError(
                f"output directory {out} is not empty; choose an empty or new directory, "
                "or pass --overwrite to replace its dataset"
            )
        manifest = out / MANIFEST
        if not manifest.is_file():
            raise OutputError(
                f"output directory {out} is not empty and holds no datagen dataset ({MANIFEST}); "
                "refusing to delete files datagen did not write: choose another directory"
            )
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        except ValueError:
            previous = {}
        manifest.unlink()
        root = out.resolve()
        for names in previous.values():
            for name in names:
                target = (out / name).resolve()
                if root in target.parents:
                    target.unlink(missing_ok=True)
                    # drop folders the dataset emptied (png/), so the directory ends up empty
                    for folder in target.parents:
                        if folder == root or any(folder.iterdir()):
                            break
                        folder.rmdir()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output directory {out}: {err.strerror}") from err
    return out
