"""The torch engine: the prepared ONNX graph converted with onnx2torch, images optimised with torch."""
