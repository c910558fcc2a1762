"""The ort-training engine: the loss as ONNX nodes, optimised by onnxruntime-training (extra ort-training)."""
