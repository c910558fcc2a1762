"""The one place where optional or heavy packages are imported, so a missing one gives a clear fix."""

import importlib
from types import ModuleType

from onnx_datagen.errors import DependencyError

# module -> (pip distribution, extra of onnx-datagen that brings it, or None for a core dependency)
_SOURCES = {
    "onnxruntime": ("onnxruntime", "onnxruntime"),
    "nncf": ("nncf", "openvino"),
    "openvino": ("openvino", "openvino"),
    "torch": ("torch", None),
    "onnx2torch": ("onnx2torch", None),
    "onnxscript": ("onnxscript", None),
    "cv2": ("opencv-python-headless", None),
    "yaml": ("pyyaml", None),
    "ray": ("ray", "ray"),
}


def require(module: str) -> ModuleType:
    """Import `module`, or raise a DependencyError that names the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        dist, extra = _SOURCES.get(module.split(".")[0], (module, None))
        fix = f'pip install "onnx-datagen[{extra}]"' if extra else f"pip install {dist}"
        raise DependencyError(
            f"{module} is required for this but cannot be imported ({err}); install it: {fix}"
        ) from err
