"""Progress display: a redrawn bar on a terminal, a few plain lines in logs and CI, or nothing."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from onnx_datagen.engines.base import StepReport

LOG_LINES = 10  # plain-line mode prints about this many lines per run
REDRAW_SECONDS = 0.2


class ProgressPrinter:
    """Callable progress sink for Engine.optimize. mode: 'auto', 'bar', 'lines' or 'quiet'."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            interactive = self.stream.isatty() and not os.environ.get("CI")
            mode = "bar" if interactive else "lines"
        self.mode = mode
        self.start: float | None = None  # set at the first step, so setup time does not skew the ETA
        self.first_step = 0
        self.done = 0
        self.total: int | None = None
        self.groups = 1
        self.last_draw = 0.0
        self.drawn = False

    def expect(self, steps: int, groups: int) -> None:
        """This run's optimiser steps (for an ETA across groups, else per group) and the job's groups."""
        self.total, self.groups = steps, groups

    def _eta(self, report: StepReport) -> str:
        total = self.total or report.n_iter * report.n_batches
        if self.done == self.first_step:
            return "?"
        remaining = (time.monotonic() - self.start) / (self.done - self.first_step) * max(0, total - self.done)
        return f"{int(remaining // 60)}:{int(remaining % 60):02d}"

    def _text(self, report: StepReport) -> str:
        group = f"group {report.group + 1}/{self.groups}  " if self.groups > 1 else ""
        return (
            f"{group}iter {report.iteration + 1}/{report.n_iter}  batch {report.position + 1}/{report.n_batches}  "
            f"loss {report.loss:.4g} (bn {report.bn_loss:.4g}, output {report.output_loss:.3g})  "
            f"lr {report.lr:.3g}  ETA {self._eta(report)}"
        )

    def __call__(self, report: StepReport) -> None:
        if self.mode == "quiet":
            return
        self.done += 1
        if self.start is None:
            self.start, self.first_step = time.monotonic(), self.done
        last_of_iteration = report.position == report.n_batches - 1
        if self.mode == "bar":
            now = time.monotonic()
            if now - self.last_draw >= REDRAW_SECONDS or (last_of_iteration and report.iteration + 1 == report.n_iter):
                self.stream.write("\r\033[K" + self._text(report))
                self.stream.flush()
                self.last_draw, self.drawn = now, True
        elif last_of_iteration:
            every = max(1, report.n_iter // LOG_LINES)
            if (report.iteration + 1) % every == 0 or report.iteration == 0 or report.iteration + 1 == report.n_iter:
                print(self._text(report), file=self.stream, flush=True)

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
