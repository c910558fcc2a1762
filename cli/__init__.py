"""The `datagen` command line: a thin layer over the onnx_datagen library (installed as onnx_datagen.cli)."""
