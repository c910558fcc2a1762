"""A generated digits dataset with the exports the consumer tests feed, and the real digits to compare with."""

import numpy as np
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.data.image_sets import load_labelled
from tests.conftest import DIGITS_MODEL, DIGITS_TEST

DIGITS = Normalization((0.3,), (0.32,), 1.0, "digits")
CALIBRATION, HELD_OUT = slice(0, 128), slice(128, None)  # real calibration images / scored images


@pytest.fixture(scope="session")
def calib(tmp_path_factory):
    """64 generated digits (100 iterations), saved with the exports the consumer tests read."""
    dataset = onnx_datagen.generate(str(DIGITS_MODEL), 64, GenerationConfig(normalization=DIGITS, n_iter=100))
    dataset.save(
        tmp_path_factory.mktemp("digits") / "calib",
        ["npy", "openvino", "onnxruntime", "polygraphy", "modelopt", "quark", "mct"],
    )
    return dataset


@pytest.fixture(scope="session")
def held_out():
    labelled = load_labelled(DIGITS_TEST)
    return labelled.subset(HELD_OUT.start, None).model_input(DIGITS), labelled.labels[HELD_OUT]


def real_calibration():
    return load_labelled(DIGITS_TEST).subset(CALIBRATION.start, CALIBRATION.stop).model_input(DIGITS)


def accuracy(predicted, labels):
    return 100.0 * float(np.mean(predicted == labels))


def ort_predict(model, images):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": images})[0].argmax(1)
