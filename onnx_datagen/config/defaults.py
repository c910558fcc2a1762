"""Tuned defaults: each value with the measurement that chose it (results in benchmarks/)."""

from __future__ import annotations

from onnx_datagen.config.choices import CalibrateFor

EXTRA_PIXELS_DIVISOR = 7  # default canvas margin = image side / 7 (see GenerationConfig.margin)
# Cross-entropy weight with --labels, against the BN loss: 100 iterations on the digits CNN gave 96 % of images
# classified as their label at 0.001 with BN match 0.102 (0.098 without), 99 % at 0.01 but BN match 0.168;
# ResNet-20 (60 iterations): 100 % at 0.001 with BN match 0.130 (0.149 without), 0.204 at 0.01. A few
# classes fight statistics made of all of them: '3,5' on digits hit 66 % at 0.001, 94 % at 0.01 (60 iterations).
# With the tail penalty (--for w8a4) logits are held back: digits, fractal starts, 0.001 hit 69 % (85 % without
# it), 0.003 hit 93 %; raise --ce-weight there.
LABELS_CE_WEIGHT = 0.001
ALL_IMAGES_GROUP = 1024  # default images per group under all-images statistics (MCT, DGH report 1024-image sets)
DEFAULT_BATCH = 32  # MCT's batch size, the default for images up to SMALL_IMAGE_SIDE square
# Larger images default to smaller batches and per-batch statistics, so that memory does not grow with the image:
# at 224x224 batch 8 steps as fast per image as 32 in a third of the memory (benchmarks/results/LEVERS.md).
SMALL_IMAGE_SIDE = 112
# Default n_iter up to SMALL_IMAGE_SIDE square, and above. On the CIFAR ResNets 100 scored as the mct preset's 500
# at W8A8 (E3 98.3 / 97.8 against 98.4 / 97.8), and with --for w8a4 above MCT and real data at W8A4 (TAILS.md).
SMALL_IMAGE_ITERATIONS, LARGE_IMAGE_ITERATIONS = 100, 30
LARGE_IMAGE_LOW_RES = 0.5  # default --low-res-fraction above SMALL_IMAGE_SIDE square: 1.4x faster, as good
LARGE_IMAGE_GROUP = 256  # default all-images group above SMALL_IMAGE_SIDE square: canvases + optimiser state 0.8 GB
# The tail penalty's weight by --calibrate-for (benchmarks/results/TAILS.md): on the CIFAR ResNets 100 lifts W8A4 by
# 1-32 points and keeps W8A8; on MobileNetV2 (heavy-tailed depthwise activations) even 10 cost 14-18 points of W8A8.
TAIL_WEIGHTS = {CalibrateFor.W8A8: 0.0, CalibrateFor.W8A4: 100.0}
TAIL_BOUND = 4.0
MIN_AUTO_BATCH = 8  # statistics over fewer images drift towards per-image ones, which calibrate 8-bit worse
