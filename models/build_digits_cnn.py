"""Rebuild models/digits_cnn.onnx, the embedded example model, and its held-out test split.

A small CNN with four BatchNorm layers, trained deterministically (fixed seeds, one thread,
deterministic torch algorithms) on scikit-learn's bundled 8x8 digits, upscaled to 16x16 so the
images have some spatial extent. Exported with BatchNorm kept and a dynamic batch axis.

    pip install -c constraints-cpu.txt -e ".[models]"
    python models/build_digits_cnn.py            # writes digits_cnn.onnx and digits_test.npz here

Input: 1 x 16 x 16 grayscale, pixels in 0..1, normalised with mean 0.3 and std 0.32 (the data's own), i.e.
`datagen generate models/digits_cnn.onnx --mean 0.3 --std 0.32`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

HERE = Path(__file__).resolve().parent
SIZE = 16
MEAN, STD = 0.3, 0.32
SEED = 0
EPOCHS = 30
TEST_FRACTION = 0.25


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.features = nn.Sequential(block(1, 16, 1), block(16, 32, 2), block(32, 32, 1), block(32, 64, 2))
        self.classifier = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 N x 16 x 16 x 1 images and labels, split by a seeded permutation."""
    digits = load_digits()
    pixels = (digits.images / 16.0 * 255.0).round().astype(np.uint8)
    images = np.stack([cv2.resize(p, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR) for p in pixels])[..., None]
    order = np.random.default_rng(SEED).permutation(len(images))
    n_test = int(len(images) * TEST_FRACTION)
    test, train = order[:n_test], order[n_test:]
    return images[train], digits.target[train], images[test], digits.target[test]


def to_input(images: np.ndarray) -> torch.Tensor:
    x = torch.tensor(images, dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    train_x, train_y, test_x, test_y = load_split()
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = to_input(train_x), torch.tensor(train_y)
    generator = torch.Generator().manual_seed(SEED)
    for _epoch in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(x), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(to_input(test_x)).argmax(1).numpy() == test_y).mean()
    print(f"held-out top-1: {accuracy * 100:.2f}% on {len(test_y)} images")

    onnx_path = HERE / "digits_cnn.onnx"
    torch.onnx.export(
        model,
        (to_input(test_x[:2]),),
        str(onnx_path),
        dynamo=False,
        do_constant_folding=False,
        opset_version=17,
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
    )
    np.savez_compressed(
        HERE / "digits_test.npz",
        images=test_x,
        labels=test_y.astype(np.int64),
        class_names=np.array([str(i) for i in range(10)]),
    )
    print(f"{onnx_path.name} sha256 {hashlib.sha256(onnx_path.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
