"""onnx-datagen: synthetic calibration data from an ONNX model's BatchNorm statistics.

The public API is imported lazily, so `import onnx_datagen` (and `datagen --help`) stays light.

    >>> import onnx_datagen
    >>> report = onnx_datagen.inspect("model.onnx")
    >>> ds = onnx_datagen.generate("model.onnx", n_images=256)
    >>> ds.images.shape
    (256, 3, 32, 32)
"""

from onnx_datagen._version import __version__

_LAZY = {
    "generate": "onnx_datagen.run.generate",
    "train_generator": "onnx_datagen.methods.generator",
    "sample": "onnx_datagen.images.generator_file",
    "inspect": "onnx_datagen.run.inspect",
    "quantize": "onnx_datagen.quant.quantize",
    "QuantSettings": "onnx_datagen.quant.quantize",
    "evaluate": "onnx_datagen.quant.evaluate",
    "Dataset": "onnx_datagen.data.dataset",
    "GenerationConfig": "onnx_datagen.config.generation",
    "Normalization": "onnx_datagen.config.normalization",
    "UserError": "onnx_datagen.errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'onnx_datagen' has no attribute {name!r}")
