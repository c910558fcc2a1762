"""The pixel optimisers, shared by every engine (the ort-training engine steps torch optimisers too)."""

from __future__ import annotations

import torch

from onnx_datagen.config.choices import Optimizer

OPTIMIZERS = {  # params: tensors, or parameter groups (dicts) with their own lr
    Optimizer.RADAM: lambda params, c: torch.optim.RAdam(params, lr=c.lr, betas=(c.beta1, c.beta2)),
    Optimizer.ADAM: lambda params, c: torch.optim.Adam(params, lr=c.lr, betas=(c.beta1, c.beta2)),
    Optimizer.SGD: lambda params, c: torch.optim.SGD(params, lr=c.lr, momentum=0.9),
}
