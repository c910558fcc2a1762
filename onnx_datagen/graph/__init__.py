"""Everything that reads or rewrites the ONNX graph; framework-neutral (onnx and numpy only)."""
