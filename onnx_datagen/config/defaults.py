"""Tuned defaults: each value with the reason in one line and the result that chose it (benchmarks/results/)."""

from __future__ import annotations

from onnx_datagen.config.choices import CalibrateFor

# Canvas margin = image side / 7: MCT's 32 pixels at 224x224 (../shared/docs/algorithms.md, MCT's image pipeline).
EXTRA_PIXELS_DIVISOR = 7
# --labels' cross-entropy weight: 96 % of images take their class at a BN match barely moved (results_notes.md,
# "Class targets").
LABELS_CE_WEIGHT = 0.001
# Images per all-images group: the 1024-image sets MCT and DGH report (algorithms.md).
ALL_IMAGES_GROUP = 1024
# Batch size up to SMALL_IMAGE_SIDE square: MCT's (algorithms.md).
DEFAULT_BATCH = 32
# Above this side, smaller batches and groups keep memory flat: batch 8 steps as fast per image as 32 in a third of
# the memory at 224x224 (LEVERS.md).
SMALL_IMAGE_SIDE = 112
# Iterations up to and above SMALL_IMAGE_SIDE square: 100 scored as MCT's 500 on the CIFAR ResNets (RESULTS.md,
# TAILS.md); 30 from fractal starts matched real photos on MobileNetV2 (IMAGENET.md).
SMALL_IMAGE_ITERATIONS, LARGE_IMAGE_ITERATIONS = 100, 30
# Half of the iterations at half resolution above SMALL_IMAGE_SIDE square: 1.4x faster, as good (IMAGENET.md).
LARGE_IMAGE_LOW_RES = 0.5
# Share of the images that match the BN statistics one by one above SMALL_IMAGE_SIDE square: each image then reaches
# every channel's spread, so per-image extremes (what NNCF's ranges average) grow; an eighth lifted NNCF INT8 2.9-4.5
# points on EfficientNet-Lite0, and moved MobileNetV2 less than its seeds' spread (results_notes.md, "Every ImageNet
# export").
LARGE_IMAGE_PER_IMAGE_SHARE = 0.125
# All-images group above SMALL_IMAGE_SIDE square: canvases and optimiser state stay near 0.8 GB (ACTIVATION_MEMORY.md).
LARGE_IMAGE_GROUP = 256
# Tail penalty by --calibrate-for: 100 lifts CIFAR W8A4 by 1-32 points; on MobileNetV2 even 10 cost W8A8 (TAILS.md).
TAIL_WEIGHTS = {CalibrateFor.W8A8: 0.0, CalibrateFor.W8A4: 100.0}
# Running stds left free by the tail penalty: 3 cost W8A8 E3 on ResNet-20, 4 did not (TAILS.md).
TAIL_BOUND = 4.0
# Smallest automatic batch: statistics over fewer images drift towards per-image ones, which calibrate worse
# (RESULTS.md, the per-image rows).
MIN_AUTO_BATCH = 8
