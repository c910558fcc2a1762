"""Optimisation engines: the interface and the batch loop (base.py), optimisers and schedules, and one subpackage
per engine (torch via onnx2torch, ort_training via ONNX Runtime training)."""
