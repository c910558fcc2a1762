"""Batch jobs for real: shards, merge, resume after kill -9 and Ctrl-C, full and read-only folders, Ray, batch files.

The contract under test: for one model, config and seed, every way of running the job writes the same
bytes (CPU, fp32) as one uninterrupted run.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from onnx_datagen.cli.main import main

from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, bn_model, save


def smallest_pipe() -> int:
    """The capacity of the smallest pipe this kernel makes, in bytes (one page: 4 KiB on x86-64)."""
    read, write = os.pipe()
    try:
        return fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1)
    finally:
        os.close(read)
        os.close(write)


# 40 images in groups of 16: three groups (16, 16, 8), all-images statistics shared inside each group.
JOB = [*DIGITS_ARGS, "-n", "40", "--batch-size", "8", "--group-size", "16", "--n-iter", "6", "-q"]
# The job the interrupt tests stop. It cannot finish before the signal on any machine, however fast: its progress
# lines (one per iteration here, about 90 bytes) go to a pipe of PIPE_BYTES that the test reads only after sending
# the signal, so the job blocks on a write once it is a pipe ahead. It prints about three pipes' worth (groups of
# 2 batches x 8 iterations, ~740 bytes each); the groups the tests wait for are saved within the first pipe.
PIPE_BYTES = smallest_pipe()
SLOW_GROUPS = 3 * PIPE_BYTES // 700
SLOW_JOB = [*DIGITS_ARGS, "-n", 4 * SLOW_GROUPS, "--batch-size", "2", "--group-size", "4", "--n-iter", "8"]
SLOW_JOB_QUIET = [*SLOW_JOB, "-q"]
WAIT_SECONDS = 600  # for a start and a first group that take ~5 s here: a machine 100x slower still passes


def datagen(*args) -> int:
    return main([str(a) for a in args])


def datagen_process(*args, **kwargs) -> subprocess.Popen:
    command = [sys.executable, "-m", "onnx_datagen.cli.main", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def same_dataset(a: Path, b: Path) -> None:
    """Byte-identical images.npy and PNGs."""
    assert (a / "images.npy").read_bytes() == (b / "images.npy").read_bytes()
    pngs = sorted(p.relative_to(a) for p in (a / "png").glob("*.png"))
    assert pngs and pngs == sorted(p.relative_to(b) for p in (b / "png").glob("*.png"))
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in pngs)


def saved_groups(out: Path) -> list[int]:
    """The groups the folder's manifest records as saved (their files are written first)."""
    manifest = out / "manifest.json"  # replaced atomically: never half-written
    return json.loads(manifest.read_text())["progress"]["done"] if manifest.is_file() else []


def wait_for_group(out: Path, index: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while index not in saved_groups(out):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"group {index} was never saved in {out}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "calib"
    assert datagen("generate", DIGITS_MODEL, *JOB, "-o", out) == 0
    return out


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory) -> Path:
    """One uninterrupted run of SLOW_JOB, the bytes every interrupted run must reproduce."""
    out = tmp_path_factory.mktemp("slow_ref") / "calib"
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out) == 0
    return out


def interrupt(out: Path, sig: int, after_group: int) -> tuple[int, str]:
    """Run SLOW_JOB into `out` in a process, send it `sig` once group `after_group` is saved; (exit code, stderr).

    The job's stderr is not read until then, so it stops mid-run, a pipe of progress lines ahead (see SLOW_JOB)."""
    # Started from a background shell (`&`, nohup), this process ignores SIGINT, and an ignored signal stays
    # ignored across exec: the job would run through Ctrl-C. Give it the default a terminal's Ctrl-C meets.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = datagen_process("generate", DIGITS_MODEL, *SLOW_JOB, "-o", out, pipesize=PIPE_BYTES)
    finally:
        signal.signal(signal.SIGINT, inherited)
    wait_for_group(out, after_group, process)
    process.send_signal(sig)
    _, err = process.communicate(timeout=WAIT_SECONDS)
    return process.returncode, err


@pytest.mark.numerics
def test_shards_merge_to_the_bytes_of_one_run(reference, tmp_path):
    for k in (1, 2, 3):
        assert datagen("generate", DIGITS_MODEL, *JOB, "--shard", f"{k}/3", "-o", tmp_path / f"s{k}") == 0
    shard = json.loads((tmp_path / "s2" / "manifest.json").read_text())
    assert shard["status"] == "shard" and shard["progress"]["done"] == [1]
    assert datagen("merge", tmp_path / "s3", tmp_path / "s1", tmp_path / "s2", "-o", tmp_path / "all", "-q") == 0
    same_dataset(reference, tmp_path / "all")
    merged = json.loads((tmp_path / "all" / "manifest.json").read_text())
    single = json.loads((reference / "manifest.json").read_text())
    assert merged["status"] == "complete" and merged["n_images"] == 40 and len(merged["merged_from"]) == 3
    assert merged["determinism"]["byte_identical"] is True  # CPU fp32, for these kernels:
    assert merged["determinism"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    # The same float64 sums of the same bytes in the same group order: equal, not close.
    assert merged["statistics"]["bn_loss_final"] == single["statistics"]["bn_loss_final"]
    assert not (tmp_path / "all" / "groups").exists() and not (reference / "groups").exists()


@pytest.mark.numerics
def test_one_and_two_threads_write_the_bytes_of_one_run(reference, tmp_path):
    for threads in (1, 2):
        assert datagen("generate", DIGITS_MODEL, *JOB, "--threads", threads, "-o", tmp_path / f"t{threads}") == 0
        same_dataset(reference, tmp_path / f"t{threads}")


def test_merge_refuses_mixed_missing_repeated_and_unfinished_shards(tmp_path, capsys):
    assert datagen("generate", DIGITS_MODEL, *JOB, "--shard", "1/2", "-o", tmp_path / "a1") == 0
    assert datagen("generate", DIGITS_MODEL, *JOB, "--shard", "2/2", "--seed", "1", "-o", tmp_path / "b2") == 0
    other_model = save(bn_model(channels=1, size=16), tmp_path / "other.onnx")
    assert datagen("generate", other_model, *JOB, "--shard", "2/2", "-o", tmp_path / "c2") == 0
    capsys.readouterr()
    cases = [
        ([tmp_path / "a1", tmp_path / "b2"], "different jobs (config.seed: 0 vs 1)"),
        ([tmp_path / "a1", tmp_path / "c2"], "different jobs (model.bn_layers: 4 vs 2)"),
        ([tmp_path / "a1"], "shard 2/2 missing"),
        ([tmp_path / "a1", tmp_path / "a1"], "given twice"),
        ([tmp_path / "nothing"], "not a datagen shard folder"),
    ]
    for shards, message in cases:
        assert datagen("merge", *shards, "-o", tmp_path / "out") == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.numerics
def test_kill_9_mid_run_then_resume_gives_the_bytes_of_one_run(slow_reference, tmp_path):
    reference, out = slow_reference, tmp_path / "killed"
    assert interrupt(out, signal.SIGKILL, after_group=1)[0] == -signal.SIGKILL
    state = json.loads((out / "manifest.json").read_text())
    assert state["status"] == "running" and not (out / "images.npy").exists()
    assert datagen("export", out, "--to", "openvino") == 1  # an unfinished folder is not a dataset
    # Without --resume the folder is refused with the way out; with it, only unfinished groups run.
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out) == 1
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out, "--resume") == 0
    same_dataset(reference, out)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    # Killed after the complete manifest but before groups/ went: a resume keeps the dataset, drops the rest.
    (out / "groups").mkdir()
    (out / "groups" / "group-000000.npz").write_bytes(b"left over")
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out, "--resume") == 0
    assert not (out / "groups").exists()
    same_dataset(reference, out)


def test_resume_refuses_another_job_and_names_the_field(tmp_path, capsys):
    out = tmp_path / "o"
    interrupt(out, signal.SIGKILL, after_group=0)
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "--lr", "8", "-o", out, "--resume") == 1
    assert "config.lr: 16.0 vs 8.0" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "--shard", "1/2", "-o", out, "--resume") == 1
    assert "give the same --shard" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *JOB, "-o", out, "--overwrite") == 0  # --overwrite starts over
    assert json.loads((out / "manifest.json").read_text())["n_images"] == 40


def test_ctrl_c_leaves_a_resumable_folder_and_says_how(slow_reference, tmp_path):
    reference, out = slow_reference, tmp_path / "o"
    code, err = interrupt(out, signal.SIGINT, after_group=0)
    assert code == 130 and "rerun the same command with --resume" in err and "Traceback" not in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out, "--resume") == 0
    same_dataset(reference, out)


def test_full_disk_fails_at_the_first_group_with_one_line_and_nothing_complete(tmp_path):
    """A real kernel limit on file size (EFBIG): the manifest fits, the first group's file does not."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    out = tmp_path / "o"
    process = datagen_process("generate", DIGITS_MODEL, *JOB, "-o", out, preexec_fn=limit_file_size)
    _, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 1 and "Traceback" not in err, err
    assert err.strip().startswith("datagen: error: cannot write") and "group-000000.npz" in err, err
    assert "File too large" in err and len(err.strip().splitlines()) == 1
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert not list((out / "groups").glob("*group*"))  # no half-written group, not even a temp file


def test_read_only_output_fails_at_the_start(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    command = [sys.executable, "-m", "onnx_datagen.cli.main", "generate", str(DIGITS_MODEL), *JOB]
    command += ["-o", str(folder / "o")]
    if os.geteuid() == 0:  # root writes through permission bits: mount the folder read-only instead
        script = f"mount --bind -o ro {folder} {folder} && exec {' '.join(command)}"
        command = ["unshare", "-m", "sh", "-c", script]
    else:
        folder.chmod(0o500)
    result = subprocess.run(command, capture_output=True, text=True, timeout=WAIT_SECONDS)
    folder.chmod(0o700)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cannot create output directory" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (folder / "o").exists()


@pytest.mark.numerics
def test_ray_local_instance_writes_the_bytes_of_one_run(reference, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is part of .[test]; this guards partial installs only")
    out = tmp_path / "ray"
    assert datagen("generate", DIGITS_MODEL, *JOB, "--ray", "-o", out) == 0
    same_dataset(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"]["threads"] == 1  # Ray gives each task one CPU


def ray_task_pids() -> list[int]:
    """Ray workers busy with a group now (Ray titles a worker after the task it runs)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(b"ray::_make_group"):
                pids.append(int(cmdline.parent.name))
        except OSError:  # the process ended while we looked
            pass
    return pids


def test_ray_worker_killed_mid_group_is_retried_to_the_same_bytes(slow_reference, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is part of .[test]; this guards partial installs only")
    reference, out = slow_reference, tmp_path / "ray"
    process = datagen_process("generate", DIGITS_MODEL, *SLOW_JOB, "--ray", "-o", out)
    deadline = time.monotonic() + WAIT_SECONDS
    # Killed as soon as it is seen making a group: with SLOW_GROUPS tasks queued on a few workers, one is busy for
    # most of the run (a first task converts the model, ~1 s here), and the kill follows the look within microseconds.
    while not (busy := ray_task_pids()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no Ray worker ever ran a group"
        time.sleep(0.01)
    os.kill(busy[0], signal.SIGKILL)
    _, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 0, err
    same_dataset(reference, out)


def test_batch_file_runs_every_job_reports_failures_and_resumes(tmp_path, capsys, reference):
    shutil.copy(DIGITS_MODEL, tmp_path / "digits.onnx")
    (tmp_path / "jobs.yaml").write_text(
        "defaults:\n"
        "  n_images: 40\n"
        "  config: {batch_size: 8, group_size: 16, n_iter: 6, normalization: {mean: [0.3], std: [0.32]}}\n"
        "jobs:\n"
        "  - {model: digits.onnx, output: out/a}\n"
        "  - {model: missing.onnx, output: out/b}\n"
        "  - {model: digits.onnx, output: out/c, config: {seed: 1}, format: npy}\n"
    )
    assert datagen("batch", tmp_path / "jobs.yaml", "-q") == 1
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:2] == ["model", "images"] and len(table) == 4
    assert "missing.onnx: no such file" in table[2] and table[1].endswith("ok") and table[3].endswith("ok")
    assert "1 of 3 jobs failed" in captured.err
    same_dataset(reference, tmp_path / "out" / "a")
    seed1 = json.loads((tmp_path / "out" / "c" / "manifest.json").read_text())
    assert seed1["seed"] == 1 and seed1["formats"].keys() == {"npy"}
    # Rerunning the file keeps the complete jobs: nothing is optimised again.
    before = (tmp_path / "out" / "a" / "manifest.json").read_text()
    assert datagen("batch", tmp_path / "jobs.yaml", "-q") == 1
    assert (tmp_path / "out" / "a" / "manifest.json").read_text() == before


def test_batch_file_errors_name_the_job(tmp_path, capsys):
    (tmp_path / "jobs.yaml").write_text("jobs:\n  - {model: a.onnx, output: o, n_iterations: 3}\n")
    assert datagen("batch", tmp_path / "jobs.yaml") == 1
    err = capsys.readouterr().err
    assert "job 1: unknown keys n_iterations" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "jobs.yaml").write_text("jobs:\n  - {model: a.onnx, output: o, n_images: many}\n")
    assert datagen("batch", tmp_path / "jobs.yaml") == 1
    err = capsys.readouterr().err
    assert "job 1: --n-images must be a positive integer, got 'many'" in err and len(err.strip().splitlines()) == 1


def test_contradicting_job_options_are_refused_before_any_work(tmp_path, capsys):
    assert datagen("generate", DIGITS_MODEL, *JOB, "--shard", "4/4", "-o", tmp_path / "o") == 1
    assert "only 3 groups of 16 images; use at most 3 shards" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *JOB, "--shard", "3/2", "-o", tmp_path / "o") == 1
    assert "--shard takes K/N with 1 <= K <= N" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *JOB, "--ray", "--threads", "2", "-o", tmp_path / "o") == 1
    assert "Ray gives each task one CPU" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *JOB, "--ray", "127.0.0.1:1", "-o", tmp_path / "o") == 1
    assert "cannot reach Ray at 127.0.0.1:1 (Connection refused)" in capsys.readouterr().err
    assert datagen("generate", DIGITS_MODEL, *JOB, "--group-size", "12", "-o", tmp_path / "o") == 1
    assert "--group-size (12) must be a multiple of --batch-size (8)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_job_difference_names_the_first_differing_field():
    from onnx_datagen.run.folder import job_difference

    job = {"config": {"lr": 16.0, "scheduler_patience": None}, "model": {"path": "a.onnx", "sha256": "1"}}
    assert job_difference(job, json.loads(json.dumps(job))) is None
    moved = {**job, "model": {"path": "elsewhere/a.onnx", "sha256": "1"}}
    assert job_difference(job, moved) is None  # the same file elsewhere: the sha256 decides
    assert job_difference(job, {**job, "config": {"lr": 8.0, "scheduler_patience": None}}) == "config.lr: 16.0 vs 8.0"
    assert job_difference({"model": job["model"]}, job) == "config: missing in the folder"  # an older manifest


def test_overwrite_drops_group_files_the_manifest_does_not_list(reference, tmp_path):
    """A kill between a group's rename and its manifest entry: --overwrite must not adopt the old job's group."""
    out = tmp_path / "o"
    assert datagen("generate", DIGITS_MODEL, *JOB, "--lr", "8", "--shard", "1/3", "-o", out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["groups"] = []  # as if killed before the manifest recorded the group
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert datagen("generate", DIGITS_MODEL, *JOB, "-o", out, "--overwrite") == 0
    same_dataset(reference, out)


@pytest.mark.numerics
def test_a_folder_an_earlier_version_started_resumes(slow_reference, tmp_path):
    """The engine was once called backend, and the normalisation had no channel order: such a folder's job
    is read in today's terms (renamed keys, new settings at the defaults that kept the old behaviour)."""
    out = tmp_path / "old"
    assert interrupt(out, signal.SIGKILL, after_group=0)[0] == -signal.SIGKILL
    state = json.loads((out / "manifest.json").read_text())
    config = state["job"]["config"]
    config["backend"] = config.pop("engine")
    del config["normalization"]["channel_order"]
    (out / "manifest.json").write_text(json.dumps(state))
    assert datagen("generate", DIGITS_MODEL, *SLOW_JOB_QUIET, "-o", out, "--resume") == 0
    same_dataset(slow_reference, out)
