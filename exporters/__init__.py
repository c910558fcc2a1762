"""Calibration-data exporters: one module per format or toolchain, found by scanning this package.

A module `exporters/<name>.py` defines `SPEC` (an ExporterSpec) and
`export(dataset, folder, **options) -> Written`; adding a toolchain is adding one such module.
Modules whose name starts with "_" are shared helpers. Modules are imported on first use and import
their heavy dependencies (OpenCV) inside `export`, so listing them stays cheap.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from onnx_datagen.errors import ConfigError, OutputError
from onnx_datagen.files import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from onnx_datagen.data.dataset import Dataset

BLOCK, FILE_SLACK = 4096, 512  # a file-system block; a file's header (a PNG's worst case over its raw pixels)
RECORD = "export.json"  # written in each export folder, so the folder can be shipped on its own
USAGE = "USAGE.md"


@dataclass(frozen=True)
class ExporterSpec:
    name: str
    description: str  # one line, for `datagen export --list`
    folder: str  # where its files go, relative to the output root ("" = the root itself)
    layouts: tuple[str, ...] = ()  # accepted --layout values, default first; () = the format has no layout option
    pixels: bool = False  # writes 8-bit images, which need 1 or 3 channels
    # For the free-space check before a run: bytes one image value takes in its files, and one file per image
    # (or model run) rather than one file for all.
    bytes_per_value: float = 4.0
    file_per_image: bool = False
    activation_bits: int | None = None  # what the toolchain quantizes activations to, where the export knows it

    def disk_bytes(self, n_images: int, values_per_image: int) -> int:
        """About how many bytes this format takes on disk for n_images (a bound: blocks rounded up)."""
        per_image = values_per_image * self.bytes_per_value
        if self.file_per_image:  # a header and the last file-system block of every file
            return n_images * math.ceil((per_image + FILE_SLACK) / BLOCK) * BLOCK
        return math.ceil(n_images * per_image) + BLOCK


@dataclass
class Written:
    """What an exporter module returns."""

    files: list[str]  # relative to its folder
    entry: dict  # manifest entry: layout, dtype, shape, value space and range, ...
    usage: str = ""  # how to feed the files to the toolchain (saved as USAGE.md, printed by the CLI)


@dataclass
class ExportResult:
    name: str
    folder: Path
    files: list[str]  # relative to the output root
    entry: dict = field(default_factory=dict)
    usage: str = ""


@cache
def exporters() -> dict[str, ModuleType]:
    """Every exporter module of this package, by name, in alphabetical order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[module.SPEC.name] = module
    return found


def spec(name: str) -> ExporterSpec:
    return exporters()[name].SPEC


def parse_formats(text: str | list[str], option: str = "--format") -> list[str]:
    """'png,npy' -> ['png', 'npy'], checked against the registry."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    valid = ", ".join(exporters())
    if not names:
        raise ConfigError(f"{option} needs at least one of: {valid}")
    unknown = [n for n in names if n not in exporters()]
    if unknown:
        raise ConfigError(f"unknown format {unknown[0]!r}; choose from {valid} (datagen export --list describes them)")
    return list(dict.fromkeys(names))


def disk_bytes(names: list[str], n_images: int, chw: tuple[int, int, int]) -> dict[str, int]:
    """About how many bytes each format takes on disk for n_images of chw."""
    return {name: spec(name).disk_bytes(n_images, math.prod(chw)) for name in names}


def check_formats(names: list[str], channels: int, layout: str | None = None) -> None:
    """Fail before a long run if a format cannot hold these images or does not take the layout option."""
    for name in names:
        if spec(name).pixels and channels not in (1, 3):
            raise ConfigError(
                f"format {name} writes 1- or 3-channel 8-bit images but the model input has {channels} channels; "
                "choose a float format such as npy or onnxruntime"
            )
    if layout is None:
        return
    takers = [n for n in names if spec(n).layouts]
    if not takers:
        with_layout = ", ".join(n for n, m in exporters().items() if m.SPEC.layouts)
        raise ConfigError(f"--layout applies only to {with_layout}, not to {', '.join(names)}: drop it")
    for name in takers:
        if layout.lower() not in spec(name).layouts:
            raise ConfigError(f"--layout for {name} must be one of {', '.join(spec(name).layouts)}, got {layout!r}")


def run_exporter(
    name: str,
    dataset: Dataset,
    root: Path,
    layout: str | None = None,
    overwrite: bool = False,
    previous: list[str] | None = None,
    dataset_root: bool = False,
) -> ExportResult:
    """Write one export under `root` (the dataset's folder when dataset_root) and its export.json.

    previous: the files (relative to root) of an earlier export of this format that the dataset's
    manifest recorded; they are replaced only with overwrite.
    """
    spec_ = spec(name)
    folder = root / spec_.folder if spec_.folder else root
    _clear_previous(spec_, root, folder, previous, overwrite)
    options = {"layout": (layout or spec_.layouts[0]).lower()} if spec_.layouts else {}
    written = exporters()[name].export(dataset, folder, **options)
    files = list(written.files)
    usage = written.usage and written.usage + _precision_note(spec_, dataset)
    if usage:
        atomic_write_bytes(folder / USAGE, usage.encode("utf-8"))
        files.append(USAGE)
    entry = {"folder": spec_.folder or ".", **written.entry}
    if usage or not dataset_root:  # toolchain folders describe themselves, to be shipped alone
        files.append(RECORD)
        record = {"format": name, "source": _source(dataset), **entry, "files": files}
        atomic_write_json(folder / RECORD, record)
    relative = [str(Path(spec_.folder) / f) if spec_.folder else f for f in files]
    return ExportResult(name, folder, relative, entry, usage)


def _precision_note(spec_: ExporterSpec, dataset: Dataset) -> str:
    """USAGE.md's word on the activation precision the set was made for (--for): a warning where the toolchain's
    precision is known and differs, else which one it was made for; nothing for a set that recorded none."""
    made_for = dataset.made_for
    if made_for is None:
        return ""
    if spec_.activation_bits is None:
        return f"\n{made_for.usage_note()}\n"
    mismatch = made_for.mismatch(spec_.activation_bits, "This set")
    return f"\n**{mismatch}.**\n" if mismatch else ""


def _source(dataset: Dataset) -> dict:
    model = dataset.manifest.get("model", {})
    made_for = dataset.made_for
    return {
        "dataset": str(dataset.directory.resolve()) if dataset.directory else None,
        "model_sha256": model.get("sha256"),
        "input": dataset.input_name,
        "seed": dataset.manifest.get("seed"),
        "n_images": len(dataset),
        "made_for": made_for.value if made_for else None,
    }


def _clear_previous(spec_: ExporterSpec, root: Path, folder: Path, previous: list[str] | None, overwrite: bool) -> None:
    """Refuse to write over an earlier export unless --overwrite; then delete only files datagen wrote."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder; move it or choose another -o/--output")
    if spec_.folder:
        occupied = folder.is_dir() and any(folder.iterdir())
    else:  # a root format (npy) shares the folder with others: only files count
        occupied = previous is not None or (folder.is_dir() and any(p.is_file() for p in folder.iterdir()))
    if not occupied:
        return
    if not overwrite:
        raise OutputError(
            f"{folder} already holds a {spec_.name} export; pass --overwrite to replace it, "
            "or choose another -o/--output"
        )
    if previous is not None:
        listed = [root / f for f in previous]
    elif (folder / RECORD).is_file():
        listed = [folder / f for f in json.loads((folder / RECORD).read_text(encoding="utf-8")).get("files", [])]
    else:
        raise OutputError(
            f"{folder} is not empty and holds no datagen {RECORD}; refusing to write over files datagen did not "
            "write: choose another -o/--output"
        )
    if not spec_.folder:
        return  # its files are replaced atomically
    top = folder.resolve()
    for path in listed:
        target = path.resolve()
        if top in target.parents:
            target.unlink(missing_ok=True)
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    if any(folder.iterdir()):
        raise OutputError(
            f"{folder} still holds files datagen did not write after removing the old {spec_.name} export; "
            "choose another -o/--output"
        )
