"""Datasets larger than memory: formats are written in chunks from one stacked file, and a run that cannot
fit on the disk is refused before any work.

Peak memory itself is measured in benchmarks/suites/memory/run.py (MEMORY.md), not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx_datagen.exporters import RECORD, USAGE, exporters

import onnx_datagen
import onnx_datagen.data.dataset
from onnx_datagen import Dataset, GenerationConfig
from onnx_datagen.data.preview import PREVIEW
from tests.cli.test_cli import run
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, bn_model, save

# Files that name their own folder (absolute paths, the source dataset): equal in content, not in bytes.
NAMES_THEIR_FOLDER = {RECORD, USAGE, "dataset.txt", "input_list.txt", "manifest.json"}
DATASET_ONLY = {PREVIEW}  # the dataset's own folder has a preview; an export elsewhere does not


def data_files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in NAMES_THEIR_FOLDER | DATASET_ONLY
    }


@pytest.mark.parametrize("batch", ["N", 4], ids=["dynamic-batch", "fixed-batch-4"])
def test_chunked_writing_gives_the_bytes_of_whole_arrays(tmp_path, monkeypatch, batch):
    model = save(bn_model(batch=batch), tmp_path / "m.onnx")
    generated = onnx_datagen.generate(str(model), 10, GenerationConfig(method="fractal", seed=1))
    formats = list(exporters())
    whole = generated.save(tmp_path / "whole", formats)  # one chunk: 10 images are far below CHUNK_BYTES
    # Chunks of 3 images (runs of 4 with the fixed batch: whole runs only), read back from the file, not memory.
    monkeypatch.setattr(onnx_datagen.data.dataset, "CHUNK_BYTES", 3 * 3 * 8 * 8 * 4)
    loaded = Dataset.load(whole)
    assert loaded.images_file == whole / "images.npy" and isinstance(loaded.images, np.memmap)
    assert [len(c) for c in loaded.chunks()] == [3, 3, 3, 1] and [len(c) for c in loaded.chunks(4)] == [4, 4, 2]
    streamed = loaded.export(formats, tmp_path / "streamed")
    assert [r.name for r in streamed] == formats
    expected, got = data_files(whole), data_files(tmp_path / "streamed")
    assert expected.keys() == got.keys() and len(expected) > len(formats)
    assert [name for name in expected if expected[name] != got[name]] == []
    # What the manifest says about the 8-bit conversion does not depend on the chunking either.
    assert loaded.eight_bit == generated.eight_bit


def test_a_run_folder_streams_its_groups_and_links_the_npy(tmp_path, capsys):
    out = tmp_path / "o"
    args = [*DIGITS_ARGS, "-n", "24", "--batch-size", "8", "--group-size", "8", "--n-iter", "2", "-q"]
    code, _, err = run(["generate", DIGITS_MODEL, *args, "-o", out], capsys)
    assert code == 0, err
    dataset = Dataset.load(out)
    assert dataset.images.shape == (24, 1, 16, 16) and not (out / "groups").exists()
    # The same job in memory (the Python API) gives the same images.
    config = GenerationConfig.from_dict(
        {"normalization": {"mean": [0.3], "std": [0.32]}, "batch_size": 8, "group_size": 8, "n_iter": 2}
    )
    np.testing.assert_array_equal(dataset.images, onnx_datagen.generate(str(DIGITS_MODEL), 24, config).images)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["formats"]["npy"]["value_range"] == [
        float(dataset.images.min()),
        float(dataset.images.max()),
    ]


def test_a_dataset_that_cannot_fit_on_the_disk_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = run(["generate", DIGITS_MODEL, *DIGITS_ARGS, "-n", "2000000000", "-o", out], capsys)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    # Both numbers, and what each part takes: 2e9 images of 1x16x16 float32 are 2.0 TB per float copy.
    assert "2000000000 images of 1x16x16 need about 12.3 TB on disk (npy 2.0 TB, png 8.2 TB, work files 2.0 TB)" in err
    assert f"but {tmp_path} has " in err and " free; make fewer images (-n)" in err
    assert not out.exists()  # refused before the folder was made
