"""Proving a calibration set: quantize with ONNX Runtime, evaluate against the float model, toolchain adapters."""
