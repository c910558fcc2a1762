"""Error types. A UserError is the user's to fix: the CLI prints its one-line message, no traceback.

Anything else escaping the library is a bug in onnx-datagen and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, model, options or environment; the message says how to fix it."""


class ModelError(UserError):
    """The ONNX model cannot be used (missing, unreadable, folded BatchNorm, unsupported graph)."""


class NoStatisticsError(ModelError):
    """The model stores no BatchNorm statistics to invert (folded at export, or never had BN): --method auto then
    makes images with a method that needs none."""

    def __init__(self, message: str, verdict: str) -> None:
        super().__init__(message)
        self.verdict = verdict


class ConversionError(ModelError):
    """onnx2torch cannot convert the model (an op it lacks): --engine auto falls back to ort-training."""


class ConfigError(UserError):
    """An option or configuration value is invalid."""


class DependencyError(UserError):
    """An optional package is missing; the message names the pip command that installs it."""


class OutputError(UserError):
    """The output location cannot be written as asked (not empty, not a directory, ...)."""


class OptimizationError(UserError):
    """The optimisation diverged (NaN/Inf loss); the message names the batch and a remedy."""


def first_line(err: BaseException) -> str:
    """An exception's message as one line of at most 300 characters (its type's name when it has none)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]
