"""Images before and around optimisation: starting images, fractal images, the augmentation pipeline, image
generators (GENIE) and ONNX generator files."""
