"""onnx-datagen's benchmarks: the layout and how to run them are in docs/benchmarks.md."""
