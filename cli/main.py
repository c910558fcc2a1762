"""`datagen` entry point: the click group and the one place user errors become one-line messages."""

from __future__ import annotations

import logging
import os
import sys
import traceback

import click
from onnx_datagen.cli.batch import batch_command
from onnx_datagen.cli.evaluate import evaluate_command
from onnx_datagen.cli.export import export_command
from onnx_datagen.cli.generate import generate_command
from onnx_datagen.cli.inspect import inspect_command
from onnx_datagen.cli.merge import merge_command
from onnx_datagen.cli.quantize import quantize_command
from onnx_datagen.cli.sample import sample_command
from onnx_datagen.cli.train_generator import train_generator_command

from onnx_datagen._version import __version__
from onnx_datagen.errors import UserError

# Spins of a waiting OpenMP thread before it sleeps: MobileNetV2 at 224x224 alone as fast as spinning (sleeping at
# once: 18 % slower), beside two busy processes 1.9x slower than alone (spinning 4.1x; SHARED_MACHINE.md).
WAITING_THREAD_SPINS = "3000"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="datagen")
@click.option("--debug", is_flag=True, help="Show full tracebacks, also for user errors.")
def cli(debug: bool) -> None:
    """Generate synthetic calibration images from an ONNX model's BatchNorm statistics.

    No training data needed: images are optimised until the statistics they produce inside the
    model match the running statistics stored in its BatchNormalization layers.

    \b
    Example:
      datagen inspect model.onnx
      datagen generate model.onnx --n-images 1024 -o calib/
      datagen generate model.onnx --n-images 50000 --shard 1/4 -o part1/   # and 2/4, 3/4, 4/4 elsewhere
      datagen merge part1/ part2/ part3/ part4/ -o calib/
      datagen batch jobs.yaml --ray
      datagen train-generator model.onnx -o gen.onnx && datagen sample gen.onnx -n 50000 -o calib/
      datagen export calib/ --to openvino
      datagen quantize model.onnx --calib calib/ -o model.int8.onnx
      datagen evaluate model.onnx --quantized model.int8.onnx --data test.npz
    """


cli.add_command(inspect_command)
cli.add_command(generate_command)
cli.add_command(merge_command)
cli.add_command(batch_command)
cli.add_command(train_generator_command)
cli.add_command(sample_command)
cli.add_command(export_command)
cli.add_command(quantize_command)
cli.add_command(evaluate_command)


class _NoteHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and callers may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class _NoteFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return f"note: {text}" if record.levelno >= logging.WARNING else text


def _notes_to_stderr() -> None:
    """The library's warnings (e.g. --engine auto's fallback) as `note: ...` lines on stderr, and its information
    (a run's time estimate) as plain lines; a command's `-q` keeps only the warnings."""
    logger = logging.getLogger("onnx_datagen")
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        handler = _NoteHandler()
        handler.setFormatter(_NoteFormatter())
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _waiting_threads_spin_briefly() -> None:
    """OpenMP threads waiting for work spin briefly, then sleep (GOMP_SPINCOUNT=3000; libgomp's default spins 100
    times longer), unless the caller chose a wait policy or a spin count: beside other busy processes, spinning threads
    hold the cores the working ones wait for, while threads that sleep at once (OMP_WAIT_POLICY=PASSIVE) pay a wake-up
    at every parallel region, alone too (benchmarks/results/SHARED_MACHINE.md). OpenMP reads it once, when torch loads
    it, so only where torch is not imported yet."""
    if "torch" not in sys.modules and not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & os.environ.keys():
        os.environ["GOMP_SPINCOUNT"] = WAITING_THREAD_SPINS


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 user error, 2 usage error, 130 interrupted)."""
    args = sys.argv[1:] if argv is None else list(argv)
    _waiting_threads_spin_briefly()
    _notes_to_stderr()
    try:
        result = cli.main(args=args, prog_name="datagen", standalone_mode=False)
    except UserError as err:
        if "--debug" in args:
            traceback.print_exc()
        click.echo(f"datagen: error: {err}", err=True)
        return 1
    except click.exceptions.Abort as err:  # click's form of Ctrl-C; generate's interrupt says how to resume
        cause = err.__cause__
        click.echo(
            f"datagen: {str(cause) if isinstance(cause, KeyboardInterrupt) and str(cause) else 'aborted'}", err=True
        )
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except KeyboardInterrupt as err:  # generate's says how to resume
        click.echo(f"\ndatagen: {str(err) or 'interrupted; nothing complete was written'}", err=True)
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
