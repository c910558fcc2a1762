"""The diversity measure: the closed form against brute force, additivity, and what generate reports."""

import numpy as np
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.data.diversity import DiversitySums, describe
from tests.conftest import DIGITS_MODEL, DIGITS_SIZE

DIGITS = Normalization((0.3,), (0.32,), 1.0, "digits")


def sums(features: np.ndarray, classes: np.ndarray) -> DiversitySums:
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    return DiversitySums(len(features), unit.sum(axis=0), np.bincount(classes, minlength=4))


def test_mean_pairwise_cosine_equals_brute_force_and_adds_up_over_parts():
    rng = np.random.default_rng(0)
    features, classes = rng.random((7, 5)), np.array([0, 0, 1, 3, 3, 3, 0])
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    pairs = [unit[i] @ unit[j] for i in range(7) for j in range(7) if i != j]
    whole = sums(features, classes).report()
    assert whole["mean_pairwise_cosine"] == pytest.approx(np.mean(pairs), rel=1e-12)
    assert whole["predicted_class_counts"] == [3, 1, 0, 3] and whole["classes_predicted"] == 3
    assert whole["largest_class_fraction"] == pytest.approx(3 / 7)
    parts = (sums(features[:3], classes[:3]) + sums(features[3:], classes[3:])).report()
    assert parts["mean_pairwise_cosine"] == pytest.approx(whole["mean_pairwise_cosine"], rel=1e-12)
    assert parts["predicted_class_counts"] == whole["predicted_class_counts"]


def test_a_collapsed_set_scores_one():
    collapsed = sums(np.tile([[1.0, 2.0, 0.5]], (5, 1)), np.zeros(5, dtype=int)).report()
    assert collapsed["mean_pairwise_cosine"] == pytest.approx(1.0)
    assert "predicts 1 of 4 classes, the largest for 100% of images" in describe(collapsed)


def test_generate_reports_diversity_of_the_set_and_collapse_of_a_repeated_image():
    config = GenerationConfig(normalization=DIGITS, n_iter=20, batch_size=16)
    dataset = onnx_datagen.generate(str(DIGITS_MODEL), n_images=32, config=config)
    report = dataset.manifest["diversity"]
    assert report["n_images"] == 32 and sum(report["predicted_class_counts"]) == 32
    assert 0 < report["mean_pairwise_cosine"] < 0.99
    same = np.repeat(dataset.images[:1], 8, axis=0)  # the same image 8 times, scored by the same engine
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), config.resolve(*DIGITS_SIZE))
    collapsed = engine.diversity_sums(same).report()
    assert collapsed["mean_pairwise_cosine"] == pytest.approx(1.0, abs=1e-9) and collapsed["classes_predicted"] == 1
    # Gaussian noise looks alike to the model and lands in few classes (measured with 128 images:
    # cosine 0.93, 3 classes, 73 % in one; real digits 0.61, 10 classes; generated 0.70, 10 classes).
    noise = np.random.default_rng(0).standard_normal((32, 1, 16, 16)).astype(np.float32)
    gauss = engine.diversity_sums(noise).report()
    assert report["mean_pairwise_cosine"] < gauss["mean_pairwise_cosine"] - 0.1, (report, gauss)
    assert report["classes_predicted"] > gauss["classes_predicted"], (report, gauss)
