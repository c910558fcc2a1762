"""Groups as Ray tasks: on a local Ray instance or an existing cluster, results streamed back to the driver.

Decisions (docs/decisions.md): tasks return their arrays to the driver, which alone writes the output
folder, so workers need no shared filesystem and a group is on disk as soon as its task returns; a
worker that dies loses only the group it was making, which Ray retries. Each worker process converts
the model once per (model, config) and keeps it for the next tasks.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from onnx_datagen.config.generation import ResolvedConfig
from onnx_datagen.deps import require
from onnx_datagen.engines.base import Group, ProgressSink, StepReport
from onnx_datagen.errors import UserError
from onnx_datagen.graph.prepare import ModelInput, PreparedModel
from onnx_datagen.methods.base import GroupResult
from onnx_datagen.run.groups import GroupRunner

TASK_RETRIES = 3  # a worker that dies (OOM kill, lost node) has its group rerun this many times
POLL_SECONDS = 0.5
CONNECT_SECONDS = 5
TASK_CPUS = 1  # a group is one task on one core: groups, not threads, fill a node

_RUNNERS: dict[tuple[str, str], GroupRunner] = {}  # per worker process: (model sha256, config) -> runner


def _make_group(source, config: ResolvedConfig, group: Group, reporter) -> tuple[GroupResult, dict]:
    """The task body, run in a Ray worker."""
    import torch

    # Ray sets OMP_NUM_THREADS to a task's CPUs only where the driver's environment leaves it unset; the task holds
    # TASK_CPUS cores whatever the caller exported, so torch gets that many threads.
    torch.set_num_threads(TASK_CPUS)
    key = (source.sha256, repr(config))
    runner = _RUNNERS.get(key)
    if runner is None:
        runner = _RUNNERS[key] = GroupRunner(source, config)
    forward = _Forwarder(reporter)
    result = runner.run(group, forward)
    forward.flush()
    return result, runner.run_record()


class _Forwarder:
    """Step reports sent to the driver's actor in bundles: one remote call per step would cost a CPU core."""

    def __init__(self, reporter) -> None:
        self.reporter, self.bundle, self.sent = reporter, [], time.monotonic()

    def __call__(self, report: StepReport) -> None:
        self.bundle.append(report)
        if time.monotonic() - self.sent >= POLL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.bundle:
            self.reporter.add.remote(self.bundle)
        self.bundle, self.sent = [], time.monotonic()


class _Reports:
    """A Ray actor the workers send step reports to; the driver drains it to draw one progress bar."""

    def __init__(self) -> None:
        self.reports: list[StepReport] = []

    def add(self, bundle: list[StepReport]) -> None:
        self.reports.extend(bundle)

    def drain(self) -> list[StepReport]:
        out, self.reports = self.reports, []
        return out


def connect(address: str) -> None:
    """Join the cluster at `address`, or start a local instance for "local" (once per process)."""
    ray = require("ray")
    if ray.is_initialized():
        return
    try:
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
    except (ConnectionError, ValueError) as err:
        raise UserError(f"cannot connect to Ray at {address!r} ({err}); check the address, or use --ray alone") from err


def check_ray(address: str) -> None:
    """Ray imports and HOST:PORT answers: in seconds, where Ray itself retries a wrong address for minutes."""
    require("ray")
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as err:
        raise UserError(
            f"cannot reach Ray at {address} ({err.strerror or err}); start the cluster (ray start --head) "
            "or fix the address, or use --ray alone for a local instance"
        ) from err


def run_on_ray(
    address: str,
    source: ModelInput | PreparedModel,
    config: ResolvedConfig,
    groups: list[Group],
    on_result: Callable[[GroupResult, dict], None],
    progress: ProgressSink | None = None,
) -> None:
    """Make `groups` as Ray tasks; on_result(result, run record) is called in the driver as each one finishes."""
    if not groups:
        return
    ray = require("ray")
    connect(address)
    reports = ray.remote(num_cpus=0)(_Reports).remote()
    task = ray.remote(num_cpus=TASK_CPUS, max_retries=TASK_RETRIES)(_make_group)
    source_ref = ray.put(source)  # shipped once, not once per task
    pending = {task.remote(source_ref, config, group, reports): group for group in groups}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_SECONDS)
            if progress is not None:
                for report in ray.get(reports.drain.remote()):
                    progress(report)
            for ref in ready:
                pending.pop(ref)
                try:
                    result, run = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, UserError):
                        raise cause from None
                    raise
                on_result(result, run)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
