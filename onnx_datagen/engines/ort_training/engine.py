"""ONNX Runtime training engine: forward and backward run in ORT, on the rewritten ONNX graph itself.

Nothing is converted to torch, so models with ops onnx2torch lacks still work, and the images are optimised
against ORT's numerics. Per batch shape, one training graph (built once, ~0.1 s):

    canvas (the only trainable initializer) -> smoothing conv -> crop/flip/shift as Gathers with index inputs
    -> + clip offset input -> the model, every BatchNormalization as constant Mul/Add -> the loss graph

The loss graph is the objective's own functions (moments, mean_std, the BN and output losses) lowered to
ONNX nodes (objective/lowering.py). The step's random choices are drawn exactly as the torch engine draws
them and fed as inputs; the straight-through clamp is an offset computed outside the graph (ONNX has no
stop-gradient). ORT computes the loss and the canvas gradient; the update is torch.optim's (ORT 1.19 has no
RAdam), with fresh optimiser state per batch, and the schedules are the shared ones. The statistics report
runs the prepared model in an ORT inference session.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnx_datagen.config.choices import BN_METHODS, Clipping, Device, Granularity, Parameterization, Precision
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig, require_resolved
from onnx_datagen.engines.base import (
    AUGMENT_STREAM,
    BatchLoopEngine,
    Measured,
    OptimisedBatch,
    Phase,
)
from onnx_datagen.engines.optimizers import OPTIMIZERS
from onnx_datagen.engines.schedules import make_schedule
from onnx_datagen.errors import ConfigError, DependencyError, ModelError
from onnx_datagen.graph.bn_affine import bn_as_affine
from onnx_datagen.graph.explicit_pads import explicit_pads
from onnx_datagen.graph.prepare import PreparedModel
from onnx_datagen.graph.rewrite import expose_tensors
from onnx_datagen.images.init import StartingCanvases
from onnx_datagen.images.pipeline import CanvasPipeline, ViewDraw, valid_range
from onnx_datagen.objective.bn_alignment import alignment_loss, alignment_targets, bn_loss_for, mean_only_layers
from onnx_datagen.objective.lowering import GraphBuilder
from onnx_datagen.objective.output_loss import OUTPUT_LOSSES
from onnx_datagen.objective.statistics import MomentCache, moments
from onnx_datagen.objective.tails import tail_excess
from onnx_datagen.objective.terms import compose, unlowered
from onnx_datagen.objective.weighting import LAYER_WEIGHTINGS
from onnx_datagen.runtime import inference_session

CANVAS = "datagen/canvas"
ROWS, COLS, OFFSET = "datagen/rows", "datagen/cols", "datagen/clip_offset"
LOSS, BN_LOSS, OUTPUT_LOSS = "datagen/loss", "datagen/bn_loss", "datagen/output_loss"
N_BATCHES, REST, MOMENT = "datagen/batches", "datagen/rest", "datagen/moment"  # all-images statistics
ORT_IR_VERSION = 10  # the newest IR onnxruntime-training 1.19 loads
EXTRA = "onnx-datagen[ort-training]"


def require_ort_training():
    """onnxruntime.training's artifacts and api modules, or a DependencyError naming the extra."""
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # its graph builders log every transformer at INFO
        from onnxruntime.training import api, artifacts
    except ImportError as err:
        raise DependencyError(
            f"--engine ort-training needs onnxruntime-training ({err}); install {EXTRA} in its own environment "
            "(it replaces the onnxruntime package: never install both into one environment)"
        ) from err
    return artifacts, api


def unsupported(config: GenerationConfig) -> list[str]:
    """The settings this engine cannot honour (each refused, never ignored)."""
    c = config
    problems = []
    if c.method not in BN_METHODS:
        problems.append(f"--method {c.method.value} (only bn-inversion)")
    problems += unlowered(c)  # the loss terms not written in graph values
    if c.low_res_fraction:
        problems.append("--low-res-fraction (one training graph per image size)")
    if c.parameterization is not Parameterization.PIXELS or c.swing:
        problems.append("--parameterization generator and --swing")
    if c.precision is not Precision.FP32 or c.device is not Device.CPU:
        problems.append("--precision fast and --device cuda (fp32 on CPU only)")
    return problems


class _Session:
    """One batch shape's training module (ORT) and the names it reads and writes."""

    def __init__(self, directory: Path, api, threads: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.state = api.CheckpointState.load_checkpoint(str(directory / "checkpoint"))
        self.module = api.Module(str(directory / "training_model.onnx"), self.state, device="cpu",
                                 session_options=options)  # fmt: skip
        self.module.train()
        self.inputs = list(self.module.input_names())

    def step(self, canvas: np.ndarray, feeds: dict[str, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """The graph's outputs (loss, BN loss, output loss, then any moments) and the canvas gradient at `canvas`."""
        self.state.parameters[CANVAS].data = canvas
        self.module.lazy_reset_grad()
        outputs = self.module(*[feeds[name] for name in self.inputs])
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [v.numpy() if hasattr(v, "numpy") else np.asarray(v) for v in outputs], self.state.parameters[
            CANVAS
        ].grad


def _cache_feeds(cache: MomentCache, slot: int) -> dict[str, np.ndarray]:
    """The other batches' summed moments and their count, as the graph's inputs (MomentCache.combined in ONNX)."""
    feeds = {N_BATCHES: np.asarray(cache.n_batches, dtype=np.float32)}
    for i, pair in enumerate(cache.rest(slot)):
        for k, rest in enumerate(pair):
            feeds[f"{REST}{i}_{k}"] = rest
    return feeds


def _lone_batch_feeds(channels: list[int]) -> dict[str, np.ndarray]:
    """A lone batch: no other batches, count 1 (used to read a batch's own moments)."""
    feeds = {N_BATCHES: np.asarray(1.0, dtype=np.float32)}
    for i, c in enumerate(channels):
        for k in range(2):
            feeds[f"{REST}{i}_{k}"] = np.zeros(c, dtype=np.float32)
    return feeds


def _moment_pairs(outputs: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """The graph's moment outputs (mean, mean of squares per layer, flat) as the cache stores them."""
    flat = [np.asarray(m, dtype=np.float32) for m in outputs]
    return list(zip(flat[0::2], flat[1::2]))


@contextlib.contextmanager
def _unoptimized_gradient_graph():
    """Build the gradient graph on the graph as written. The training graph builder first runs ORT's training
    optimisations; on CPU they break small loss graphs: ScaledSum fusion emits BatchScale, which has no CPU
    kernel, and shared subexpressions came out as a cycle. 1.19 is the last release, so this stays put."""
    from onnxruntime.training.onnxblock import _training_graph_utils as utils

    original = utils.get_optimized_model
    utils.get_optimized_model = lambda model, requires_grad, options: model
    try:
        yield
    finally:
        utils.get_optimized_model = original


@contextlib.contextmanager
def _native_stderr_silenced():
    """The gradient graph builder logs from C++ at INFO whatever the logger severity: hide its stderr (errors
    still arrive as exceptions)."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class OrtTrainingEngine(BatchLoopEngine):
    def __init__(self, prepared: PreparedModel, config: ResolvedConfig) -> None:
        config = require_resolved(config)
        problems = unsupported(config)
        if problems:
            raise ConfigError(
                "the ort-training engine does not support " + "; ".join(problems) + "; use --engine torch"
            )
        self.artifacts, self.api = require_ort_training()

        self.config, self.prepared = config, prepared
        self.label_cycle = None
        mean, std = config.normalization.per_channel(prepared.image.channels)
        low, high = valid_range(mean, std, config.normalization.pixel_scale)
        import torch

        self.torch = torch
        self.pipeline = CanvasPipeline(config, prepared.image.height, prepared.image.width, low, high, "cpu")
        self.starts = StartingCanvases(config, prepared, self.pipeline, None)
        self.session = inference_session(prepared.model)  # measurement, and the shapes of the BN inputs
        self.targets = alignment_targets(prepared.bn_sites, prepared.image.channels)
        self.weights = LAYER_WEIGHTINGS[config.layer_weighting](
            len(prepared.bn_sites), config.input_term, config.first_layer_multiplier
        )
        self.workdir = tempfile.TemporaryDirectory(prefix="datagen-ort-")
        self.sessions: dict[tuple[int, Granularity], _Session] = {}

    # --- the training graph -------------------------------------------------------------------------------

    def _shapes(self, batch: int) -> dict[str, tuple[int, ...]]:
        """Every output of the prepared model, by name, for a batch of `batch` images (one inference run)."""
        image = self.prepared.image
        probe = np.zeros((batch, *image.chw), dtype=np.float32)
        if image.layout == "NHWC":
            probe = probe.transpose(0, 2, 3, 1)
        names = [o.name for o in self.session.get_outputs()]
        return {n: v.shape for n, v in zip(names, self.session.run(None, {self.session.get_inputs()[0].name: probe}))}

    def _same_pad_input_shapes(self, batch: int) -> dict[str, tuple[int, ...]]:
        """Input shapes of the nodes padded with auto_pad SAME_* (explicit_pads needs them), from one inference."""

        graph = self.prepared.model.graph
        names = [
            n.input[0] for n in graph.node if any(a.name == "auto_pad" and a.s.startswith(b"SAME") for a in n.attribute)
        ]
        if not names:
            return {}
        model, index = expose_tensors(self.prepared.model, names)
        session = inference_session(model)
        image = self.prepared.image
        probe = np.zeros((batch, *image.chw), dtype=np.float32)
        probe = probe if image.layout == "NCHW" else probe.transpose(0, 2, 3, 1)
        outputs = session.run(None, {session.get_inputs()[0].name: probe})
        return {name: outputs[i].shape for name, i in zip(names, index)}

    def _training_model(self, batch: int, granularity: Granularity) -> onnx.ModelProto:
        c, prepared = self.config, self.prepared
        shapes = self._shapes(batch)
        bn_names = [prepared.model.graph.output[i].name for i in prepared.bn_output_index]
        model = bn_as_affine(prepared.model, {name: len(shapes[name]) for name in bn_names})
        model = explicit_pads(model, self._same_pad_input_shapes(batch))
        graph = model.graph
        image = prepared.image
        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        b = GraphBuilder(opset, prefix="datagen")
        channels, (canvas_h, canvas_w) = image.channels, self.pipeline.canvas_size
        canvas = b.value(CANVAS, (batch, channels, canvas_h, canvas_w))
        inputs = []
        view = canvas
        if self.pipeline.augment:
            kernel = b.const(self.pipeline.kernel.numpy())
            view = b.op("Conv", [view.name, kernel.name], view.shape, group=channels, pads=[1, 1, 1, 1])
        if self.pipeline.augment or self.pipeline.jitter:
            view = b.op("Gather", [view.name, ROWS], (batch, channels, image.height, canvas_w), axis=2)
            view = b.op("Gather", [view.name, COLS], (batch, channels, image.height, image.width), axis=3)
            inputs += [helper.make_tensor_value_info(n, TensorProto.INT64, [s]) for n, s in
                       ((ROWS, image.height), (COLS, image.width))]  # fmt: skip
        if c.clipping in (Clipping.CLAMP, Clipping.REFLECT):
            view = view + b.value(OFFSET, view.shape)
            inputs.append(helper.make_tensor_value_info(OFFSET, TensorProto.FLOAT, list(view.shape)))
        fed = view if image.layout == "NCHW" else b.op("Transpose", [view.name], (), perm=[0, 2, 3, 1])
        b.nodes.append(helper.make_node("Identity", [fed.name], [image.name]))
        n_view = len(b.nodes)  # the view runs before the model, the loss after it

        all_images = granularity is Granularity.ALL_IMAGES
        moment_granularity = Granularity.PER_BATCH if all_images else granularity
        layer_moments = [moments(view, moment_granularity)] + [
            moments(b.value(name, shapes[name]), moment_granularity) for name in bn_names
        ]
        stats = layer_moments
        if all_images:  # MomentCache.combined, with the other batches' summed moments and their count as inputs
            count = b.value(N_BATCHES, ())
            inputs.append(helper.make_tensor_value_info(N_BATCHES, TensorProto.FLOAT, []))
            stats = []
            for i, pair in enumerate(layer_moments):
                rests = [b.value(f"{REST}{i}_{k}", pair[0].shape) for k in range(2)]
                inputs += [helper.make_tensor_value_info(r.name, TensorProto.FLOAT, list(r.shape)) for r in rests]
                stats.append(tuple((rest + live) / count for rest, live in zip(rests, pair)))
        bn_loss = alignment_loss(
            stats,
            self.targets,
            self.weights,
            bn_loss_for(c),
            c.stats_eps,
            mean_only=mean_only_layers(self.prepared.bn_sites),
        )
        model_outputs = self.session.get_outputs()[: prepared.n_outputs]
        floats = [b.value(o.name, shapes[o.name]) for o in model_outputs if o.type == "tensor(float)"]
        values = {
            "bn": lambda: bn_loss,
            "output": lambda: OUTPUT_LOSSES[c.output_loss](floats, [], None),
            "tail": lambda: tail_excess([b.value(n, shapes[n]) for n in bn_names], self.targets[1:], c.tail_bound),
        }
        total, bn_loss, output_loss = compose(c, len(bn_names), values, b.const(np.float32(0.0)))
        outputs = [b.output(total, LOSS), b.output(bn_loss, BN_LOSS), b.output(output_loss, OUTPUT_LOSS)]
        if all_images:  # this batch's moments, for the cache
            outputs += [
                b.output(m, f"{MOMENT}{i}_{k}") for i, pair in enumerate(layer_moments) for k, m in enumerate(pair)
            ]

        kept_inputs = [v for v in graph.input if v.name != image.name]
        canvas_init = numpy_helper.from_array(np.zeros((batch, channels, canvas_h, canvas_w), np.float32), CANVAS)
        new_graph = helper.make_graph(
            b.nodes[:n_view] + list(graph.node) + b.nodes[n_view:],
            "datagen_training",
            kept_inputs + inputs,
            outputs,
            list(graph.initializer) + [canvas_init] + b.initializers,
        )
        training = helper.make_model(new_graph, opset_imports=list(model.opset_import))
        training.ir_version = ORT_IR_VERSION
        return training

    def _session(self, batch: int) -> _Session:
        """The training session of this batch size at the current group's granularity (built on first use)."""
        key = (batch, self.granularity)
        if key not in self.sessions:
            directory = Path(self.workdir.name) / f"batch{batch}-{self.granularity.value}"
            model = self._training_model(batch, self.granularity)
            directory.mkdir(parents=True)
            try:
                with _unoptimized_gradient_graph(), _native_stderr_silenced():
                    self.artifacts.generate_artifacts(model, requires_grad=[CANVAS], frozen_params=[], loss=None,
                                                      optimizer=None, artifact_directory=str(directory))  # fmt: skip
            except RuntimeError as err:
                raise ModelError(
                    f"{self.prepared.label}: ONNX Runtime training cannot differentiate this model "
                    f"({str(err).strip().splitlines()[-1][:300]}); use --engine torch"
                ) from err
            import torch

            self.sessions[key] = _Session(directory, self.api, torch.get_num_threads())
        return self.sessions[key]

    # --- optimisation -------------------------------------------------------------------------------------

    def _feeds(self, canvas, drawn: ViewDraw) -> dict[str, np.ndarray]:
        p, torch = self.pipeline, self.torch
        feeds = {}
        if p.augment:
            rows = np.arange(drawn.top, drawn.top + p.height)
            cols = np.arange(drawn.left, drawn.left + p.width)
            if drawn.flip:  # the crop of the flipped canvas: columns counted from the right
                cols = p.canvas_size[1] - 1 - cols
        elif p.jitter:  # circular shift by (top, left) = (down, right), then the flip
            rows = (np.arange(p.height) - drawn.top) % p.height
            cols = np.arange(p.width)[::-1] if drawn.flip else np.arange(p.width)
            cols = (cols - drawn.left) % p.width
        if p.augment or p.jitter:
            feeds[ROWS], feeds[COLS] = rows.astype(np.int64), cols.astype(np.int64)
        if self.config.clipping in (Clipping.CLAMP, Clipping.REFLECT):
            with torch.no_grad():
                unclamped = p.view(canvas, drawn, clamp=False)
                clamped = torch.maximum(torch.minimum(unclamped, p.high), p.low)
            feeds[OFFSET] = (clamped - unclamped).numpy()
        return feeds

    def _new_batch(self, index: int, size: int) -> OptimisedBatch:
        shape = (size, self.prepared.image.channels, *self.pipeline.canvas_size)
        canvas = self.torch.tensor(self.starts.canvas(index, shape))
        return OptimisedBatch(index, size, canvas, np.random.default_rng([self.config.seed, index, AUGMENT_STREAM]))

    def _moment_cache(self, n_batches: int) -> MomentCache:
        return MomentCache(n_batches)

    def _start_phase(self, batches: list[OptimisedBatch], phase: Phase) -> None:
        c = self.config
        for batch in batches:
            batch.optimizer = OPTIMIZERS[c.optimizer]([batch.params], c)
            batch.schedule = make_schedule(c, phase.iterations)
        if self.cache is not None:  # every batch's moments from its final view (the gradient unused), as torch's
            centre = self.pipeline.extra // 2
            for slot, batch in enumerate(batches):
                feeds = self._feeds(batch.params, ViewDraw(False, centre, centre))
                feeds.update(_lone_batch_feeds(self._layer_channels()))
                outputs, _ = self._session(batch.size).step(batch.params.numpy(), feeds)
                self.cache.store(slot, _moment_pairs(outputs[3:]))

    def _step(self, batch: OptimisedBatch, slot: int) -> tuple[float, float, float]:
        canvas = batch.params
        feeds = self._feeds(canvas, self.pipeline.draw(batch.rng))
        if self.cache is not None:
            feeds.update(_cache_feeds(self.cache, slot))
        outputs, grad = self._session(batch.size).step(canvas.numpy(), feeds)
        if self.cache is not None:  # one step stale, from the augmented view, as the torch engine
            self.cache.store(slot, _moment_pairs(outputs[3:]))
        canvas.grad = self.torch.from_numpy(np.array(grad, dtype=np.float32))
        loss, bn_loss, output_loss = (float(v) for v in outputs[:3])
        return loss, bn_loss, output_loss

    def _after_update(self, batch: OptimisedBatch, iteration: int) -> None:
        self.pipeline.after_step(batch.params)

    def _layer_channels(self) -> list[int]:
        return [len(mean) for mean, _ in self.targets]

    def _final_images(self, batches: list[OptimisedBatch]) -> np.ndarray:
        with self.torch.no_grad():
            return np.concatenate([self.pipeline.final_view(batch.params).numpy() for batch in batches])

    # --- measurement --------------------------------------------------------------------------------------

    def engine_record(self) -> dict:
        import platform

        import onnxruntime

        return {
            "name": "ort-training",
            "device": "cpu",
            "precision": "fp32",
            "threads": self.torch.get_num_threads(),
            "onnxruntime": onnxruntime.__version__,
            "update": f"torch {self.torch.__version__} optim",
            "python": platform.python_version(),
        }

    def measure(self, images: np.ndarray) -> Measured:
        p = self.prepared
        feed = images if p.image.layout == "NCHW" else images.transpose(0, 2, 3, 1)
        raw = self.session.run(None, {self.session.get_inputs()[0].name: feed})
        layers = [images] + [raw[i] for i in p.bn_output_index]
        logits = raw[0] if raw and np.issubdtype(raw[0].dtype, np.floating) else None
        features = raw[p.head_output_index[0]] if p.heads else None
        return Measured(layers, logits, features)
