"""Torch engine: the rewritten ONNX graph converted with onnx2torch, images optimised with torch.optim."""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass

import numpy as np

from onnx_datagen.config.choices import BnLoss, Device, Granularity, OutputLoss, Parameterization, Precision
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig, require_resolved
from onnx_datagen.deps import require
from onnx_datagen.engines.base import (
    AUGMENT_STREAM,
    BatchLoopEngine,
    Group,
    Measured,
    OptimisedBatch,
    Phase,
    ProgressSink,
    phases,
)
from onnx_datagen.engines.optimizers import OPTIMIZERS
from onnx_datagen.engines.schedules import make_schedule
from onnx_datagen.engines.torch.allocator import keep_freed_memory, release_freed_memory
from onnx_datagen.errors import ConfigError, ConversionError, ModelError, first_line
from onnx_datagen.graph.heads import classifier_classes
from onnx_datagen.graph.prepare import PreparedModel, prepare_model
from onnx_datagen.images.init import INIT_STREAM, StartingCanvases
from onnx_datagen.images.pipeline import CanvasPipeline, valid_range
from onnx_datagen.objective.bn_alignment import (
    alignment_loss,
    alignment_targets,
    bn_loss_for,
    enhancement_weights,
    mean_only_layers,
    slack_margins,
)
from onnx_datagen.objective.correlation import correlation_inhibition
from onnx_datagen.objective.output_loss import OUTPUT_LOSSES, HeadActivation, LastBn
from onnx_datagen.objective.priors import class_cross_entropy, l2_prior, target_labels, total_variation_l2
from onnx_datagen.objective.report import LayerSums, StatisticsTargets, relative_gaps
from onnx_datagen.objective.statistics import MomentCache, mean_std, moments
from onnx_datagen.objective.tails import tail_excess
from onnx_datagen.objective.terms import compose
from onnx_datagen.objective.weighting import LAYER_WEIGHTINGS

torch = require("torch")

from onnx_datagen.images.generators import (  # noqa: E402 - needs torch, checked just above
    ConvGenerator,
    generator_lr,
    install_swing,
    swinging,
)

log = logging.getLogger("onnx_datagen")

OVERFLOW = 1e18  # a BN input this large squares past float32's maximum (3.4e38): the loss would be inf
SLACK_PILOT_ITERATIONS = 100  # steps of the batch-level pilot whose per-image gaps set slack-l2-square's margins

_TORCHVISION_OPS = None  # the torch.library declaring torchvision's missing ops, kept alive


def import_onnx2torch():
    """Import onnx2torch, which imports torchvision at module level (for its NMS/RoiAlign converters).

    PyPI's torchvision does not load its C++ ops against CPU torch builds and then fails on
    `torchvision::nms`. Declaring the two missing op schemas lets the real, pure-Python torchvision
    import, so other libraries in the same process (Sony MCT, for one) still find a working package;
    only calling NMS would fail.
    """
    try:
        import torchvision  # noqa: F401
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        global _TORCHVISION_OPS
        _TORCHVISION_OPS = torch.library.Library("torchvision", "DEF")  # must stay alive
        _TORCHVISION_OPS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_OPS.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import torchvision  # noqa: F401
    return require("onnx2torch")


@dataclass
class Forward:
    outputs: list  # original model outputs (floating point ones)
    bn_inputs: list  # one tensor per BN site, float32
    heads: list[HeadActivation]


class TorchModel:
    """The converted module in eval mode, frozen, returning outputs split into model / BN / head tensors."""

    def __init__(self, prepared: PreparedModel, device: str, precision: Precision) -> None:
        import warnings

        onnx2torch = import_onnx2torch()
        # onnx2torch's Slice indexes with a list on every forward; torch's deprecation note is not the user's to act on.
        warnings.filterwarnings(
            "ignore", "Using a non-tuple sequence for multidimensional indexing", UserWarning, r"onnx2torch\."
        )
        try:
            module = onnx2torch.convert(prepared.model)
        except NotImplementedError as err:
            raise ConversionError(f"{prepared.label}: the torch engine cannot convert this model ({err})") from err
        module.eval().requires_grad_(False)
        self.prepared = prepared
        self.device = torch.device(device)
        # CPU steps reuse the previous step's activation memory instead of faulting fresh pages in.
        self.kept_freed_memory = self.device.type == "cpu" and keep_freed_memory()
        self.fast = precision is Precision.FAST
        self.module = module.to(self.device)
        if self.fast:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.nhwc = prepared.image.layout == "NHWC"
        names = [o.name for o in prepared.model.graph.output[: prepared.n_outputs]]
        self.head_weights = [
            torch.tensor(h.weight_rows, dtype=torch.float32, device=self.device) for h in prepared.heads
        ]
        self.head_outputs = [names.index(h.output) for h in prepared.heads]
        self.micro_batch = self._micro_batch_size()
        self._probe()

    def _probe(self) -> None:
        """Run one image through the converted model, so a size or shape the graph cannot take is refused here, in
        one line, and not as a traceback from the first optimisation step."""
        image = self.prepared.image
        # An image-like input (seeded, apart from every other stream): a zero image leaves overflowing weights unseen.
        noise = torch.Generator().manual_seed(0)
        probe = torch.randn((self.micro_batch or 1, *image.chw), generator=noise).to(self.device)
        try:
            with torch.no_grad():
                results = self._run(probe)
        except (RuntimeError, ValueError, IndexError, TypeError) as err:
            shape = "x".join(str(d) for d in (image.channels, image.height, image.width))
            raise ModelError(
                f"{self.prepared.label}: the model does not run on a {shape} image ({first_line(err)}); if its "
                "height/width are dynamic, give the size it is used at with --size H W, else re-export the model"
            ) from err
        names = [o.name for o in self.prepared.model.graph.output]
        for name, value in zip(names[self.prepared.n_outputs :], results[self.prepared.n_outputs :]):
            # the statistics the loss matches: their squares must stay within float32
            if value.is_floating_point() and not (torch.isfinite(value).all() and value.abs().max() < OVERFLOW):
                raise ModelError(
                    f"{self.prepared.label}: the model computes values beyond float32's reach (inf, NaN or over "
                    f"{OVERFLOW:g}) at {name!r} from an ordinary image: its weights are corrupt; re-export the model "
                    "from a healthy checkpoint"
                )

    def _micro_batch_size(self) -> int | None:
        """None when any batch size runs; else the exported fixed batch (e.g. a Reshape baked to [2, 64])."""
        fixed = self.prepared.image.batch
        if fixed is None:
            return None
        probe = torch.zeros((fixed + 1, *self.prepared.image.chw), device=self.device)
        try:
            with torch.no_grad():
                self._run(probe)
            return None
        except RuntimeError:
            return fixed

    def _run(self, x):
        if self.nhwc:
            x = x.permute(0, 2, 3, 1)
        if self.fast:
            x = x.contiguous(memory_format=torch.channels_last) if not self.nhwc else x
            with torch.autocast(self.device.type, dtype=torch.bfloat16):
                result = self.module(x)
        else:
            result = self.module(x)
        return list(result) if isinstance(result, (list, tuple)) else [result]

    def __call__(self, x) -> Forward:
        if self.micro_batch is None:
            raw = self._run(x)
        else:  # run fixed-batch chunks, zero-padding the last one; eval-mode BN keeps samples independent
            n, step = x.shape[0], self.micro_batch
            chunks = []
            for start in range(0, n, step):
                part = x[start : start + step]
                pad = step - part.shape[0]
                if pad:
                    part = torch.cat([part, part.new_zeros((pad, *part.shape[1:]))])
                chunks.append([t[: step - pad] for t in self._run(part)])
            raw = [torch.cat(parts) for parts in zip(*chunks)]
        p = self.prepared
        outputs = [t.float() for t in raw[: p.n_outputs] if t.is_floating_point()]
        bn_inputs = [raw[i].float() for i in p.bn_output_index]
        heads = [
            HeadActivation(raw[o].float(), raw[i].float(), w)
            for o, i, w in zip(self.head_outputs, p.head_output_index, self.head_weights)
        ]
        return Forward(outputs, bn_inputs, heads)


class TorchEngine(BatchLoopEngine):
    def __init__(self, prepared: PreparedModel, config: ResolvedConfig, model: TorchModel | None = None) -> None:
        config = require_resolved(config)
        if config.device is Device.CUDA and not torch.cuda.is_available():
            raise ConfigError(
                "--device cuda was asked for but torch sees no CUDA device; use --device cpu "
                "or install a CUDA build of torch"
            )
        if (
            config.output_loss is OutputLoss.REGULARIZED_MIN_MAX
            and config.output_loss_multiplier
            and not prepared.heads
        ):
            raise ConfigError(
                "--output-loss regularized-min-max needs a final Gemm/MatMul/Conv layer with constant "
                "weights before the model output, and this model has none; choose another output loss"
            )
        if config.output_loss is OutputLoss.NEGATIVE_MIN_MAX_BN_HINGE and not prepared.bn_sites:
            raise ConfigError(
                "--output-loss negative-min-max-bn-hinge holds the last BatchNorm layer in place, and this run has "
                "none (method prior, or a model without BN); choose another output loss"
            )
        self.label_cycle = self._label_cycle(prepared, config) if config.class_weight else None
        torch.manual_seed(config.seed)
        self.config = config
        self.prepared = prepared
        self.model = model or TorchModel(prepared, config.device.value, config.precision)
        self.device = self.model.device
        mean, std = config.normalization.per_channel(prepared.image.channels)
        low, high = valid_range(mean, std, config.normalization.pixel_scale)
        self.pipeline = CanvasPipeline(config, prepared.image.height, prepared.image.width, low, high, self.device)
        self.targets = [
            tuple(torch.tensor(t, dtype=torch.float32, device=self.device) for t in pair)
            for pair in alignment_targets(prepared.bn_sites, prepared.image.channels)
        ]
        self.weights = LAYER_WEIGHTINGS[config.layer_weighting](
            len(prepared.bn_sites), config.input_term, config.first_layer_multiplier
        )
        self.mean_only = mean_only_layers(prepared.bn_sites)
        self.bn_loss = bn_loss_for(config)
        self.output_loss = OUTPUT_LOSSES[config.output_loss]
        self.margins: list[tuple[float, float]] | None = None  # slack-l2-square's, from a pilot on first use
        self.swing_convs = install_swing(self.model.module) if config.swing else []
        self.starts = StartingCanvases(config, prepared, self.pipeline, self.label_cycle)
        self.coarsest_pool = self._coarsest_pool() if config.low_res_fraction else 1
        self.view_pipeline = self.pipeline  # the current phase's (low resolution: pooled views)

    def _coarsest_pool(self) -> int:
        """The coarsest of the low_res_levels pools (2, 4, ...) whose images the model takes; models with a size
        baked in (a fixed AveragePool window, a Reshape to constants) take none, and then the whole run is at full
        size, with a note, as it is at the pools the model does not take."""
        image, levels = self.prepared.image, self.config.low_res_levels
        for level in range(1, levels + 1):
            pool = 2**level
            probe = torch.zeros((1, image.channels, image.height // pool, image.width // pool), device=self.device)
            try:
                with torch.no_grad():
                    self.model(probe)
            except Exception as err:  # whatever the converted op raises on a size it was not built for
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                at = "half resolution" if level == 1 else f"1/{pool} resolution"
                skipped = (
                    f"--low-res-fraction is skipped and all {self.config.n_iter} iterations run at "
                    f"{image.height}x{image.width}"
                    if level == 1
                    else f"the low-resolution iterations run at 1/{pool // 2} resolution and finer"
                )
                log.warning("%s: the model does not run at %s (%s); %s", self.prepared.label, at, reason, skipped)
                return pool // 2
        return 2**levels

    # --- optimisation -------------------------------------------------------------------------------

    @staticmethod
    def _label_cycle(prepared: PreparedModel, config: GenerationConfig) -> list[int]:
        """The classes images are pushed towards, in turn; checked against the model's classes."""
        n_classes = classifier_classes(prepared)
        cycle = list(config.label_cycle or range(n_classes))
        if max(cycle) >= n_classes:
            raise ConfigError(
                f"--labels {config.labels} asks for class {max(cycle)} but the model has classes 0-{n_classes - 1}"
            )
        return cycle

    def _last_bn(self, forward: Forward) -> LastBn | None:
        """The last BN layer's input and running statistics, for output losses that hold them in place."""
        if not forward.bn_inputs:
            return None
        return LastBn(forward.bn_inputs[-1], *self.targets[-1], self.config.stats_eps)

    def _new_batch(self, index: int, size: int) -> OptimisedBatch:
        c = self.config
        shape = (size, self.prepared.image.channels, *self.pipeline.canvas_size)
        rng = np.random.default_rng([c.seed, index, AUGMENT_STREAM])
        if c.parameterization is Parameterization.GENERATOR:
            return self._new_generator_batch(index, shape, rng)
        canvas = torch.tensor(self.starts.canvas(index, shape), device=self.device).requires_grad_(True)
        return OptimisedBatch(index, size, canvas, rng)

    def _new_generator_batch(self, index: int, shape: tuple[int, ...], rng: np.random.Generator) -> OptimisedBatch:
        """GENIE: a fresh generator (weights drawn from the batch's init stream) and N(0, 1) latents."""
        c = self.config
        init = np.random.default_rng([c.seed, index, INIT_STREAM])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(init.integers(2**63)))
            generator = ConvGenerator(c.latent_dim, *shape[1:]).to(self.device).train()
        latents = torch.tensor(init.standard_normal((shape[0], c.latent_dim), dtype=np.float32), device=self.device)
        return OptimisedBatch(index, shape[0], latents.requires_grad_(True), rng, generator)

    def _parameter_groups(self, batch: OptimisedBatch) -> list:
        """The canvas; or GENIE's two groups in one Adam-style optimiser: latents at lr (and the schedule), the
        generator's weights at generator_lr."""
        if batch.generator is None:
            return [batch.params]
        return [
            {"params": [batch.params]},
            {"params": list(batch.generator.parameters()), "lr": self.config.generator_lr},
        ]

    def _layer_moments(self, x, forward: Forward, granularity: Granularity) -> list:
        return [moments(x, granularity)] + [moments(t, granularity) for t in forward.bn_inputs]

    def _losses(self, layer_moments: list):
        slack = self.config.bn_loss is BnLoss.SLACK_L2_SQUARE
        return alignment_loss(
            layer_moments,
            self.targets,
            self.weights,
            self.bn_loss,
            self.config.stats_eps,
            self._slack_options if slack else None,
            self.mean_only,
        )

    def _slack_options(self, layer: int, mean) -> dict:
        """Layer `layer`'s margins (none on the input term) and, per image, DSG's sample enhancement weights."""
        options = {"margins": self.margins[layer - 1] if layer else (0.0, 0.0)}
        if self.config.sample_enhancement and layer:
            options["image_weights"] = torch.tensor(enhancement_weights(layer - 1, mean.shape[0]), device=self.device)
        return options

    def _pilot_margins(self) -> list[tuple[float, float]]:
        """slack-l2-square's margins: align one batch at batch level (plain l2-square, no other terms, this
        config's optimiser), then take the configured percentile of its per-image gaps to each BN layer's
        statistics: the spread that matching batch statistics leaves between images."""
        c = self.config
        pilot_config = c.replace(
            granularity=Granularity.PER_BATCH,
            bn_loss=BnLoss.L2_SQUARE,
            sample_enhancement=False,
            correlation_weight=0.0,
            labels=None,
            ce_weight=0.0,
            tv_weight=0.0,
            l2_weight=0.0,
            output_loss=OutputLoss.NONE,
            n_iter=SLACK_PILOT_ITERATIONS,
            low_res_fraction=0.0,
        )
        pilot = TorchEngine(self.prepared, pilot_config, self.model)
        _, images, _ = pilot.optimize(Group(0, 0, c.batch_size))
        gaps = []
        with torch.no_grad():
            forward = self.model(torch.tensor(images, device=self.device))
            for t, (target_mean, target_std) in zip(forward.bn_inputs, self.targets[1:]):
                mean, std = mean_std(*moments(t, Granularity.PER_IMAGE), c.stats_eps)
                gaps.append(((mean - target_mean).abs().cpu().numpy(), (std - target_std).abs().cpu().numpy()))
        return slack_margins(gaps, c.slack_percentile)

    def _prepare(self) -> None:
        if self.config.bn_loss is BnLoss.SLACK_L2_SQUARE and self.margins is None:
            self.margins = self._pilot_margins()  # once: every group aligns to the same margins

    def optimize(
        self, group: Group, progress: ProgressSink | None = None
    ) -> tuple[LayerSums, np.ndarray, LayerSums | None]:
        self._prepare()
        result = super().optimize(group, progress)
        release_freed_memory()  # the group's canvases, optimiser state and activations, freed just now
        return result

    def _moment_cache(self, n_batches: int) -> MomentCache:
        return MomentCache(n_batches)

    def _start_phase(self, batches: list[OptimisedBatch], phase: Phase) -> None:
        c = self.config
        self.view_pipeline = self.pipeline.pooled(phase.pool) if phase.pool > 1 else self.pipeline
        for batch in batches:
            batch.optimizer = OPTIMIZERS[c.optimizer](self._parameter_groups(batch), c)
            batch.schedule = make_schedule(c, phase.iterations)
        if self.cache is not None:  # every batch's moments at this phase's resolution, from its final view
            with torch.no_grad():
                for slot, batch in enumerate(batches):
                    x = self.view_pipeline.final_view(batch.canvas())
                    self.cache.store(slot, _detached(self._layer_moments(x, self.model(x), Granularity.PER_BATCH)))

    def _step(self, batch: OptimisedBatch, slot: int) -> tuple[float, float, float]:
        c = self.config
        x = self.view_pipeline.training_view(batch.canvas(), batch.rng)
        with swinging(self.swing_convs, batch.rng) if self.swing_convs else contextlib.nullcontext():
            forward = self.model(x)
        granularity = Granularity.PER_BATCH if self.cache is not None else self.granularity
        layer_moments = self._layer_moments(x, forward, granularity)
        stats = self.cache.combined(slot, layer_moments) if self.cache is not None else layer_moments
        first = batch.index * c.batch_size
        labels = target_labels(self.label_cycle, first, len(x), self.device) if self.label_cycle else None
        loss, bn_loss, output_loss = self.objective(x, forward, stats, labels, batch.rng)
        loss.backward()
        if self.cache is not None:  # one step stale, from the augmented view: no extra forward (as MCT)
            self.cache.store(slot, _detached(layer_moments))
        return float(loss.detach()), float(bn_loss.detach()), float(output_loss.detach())

    def _after_update(self, batch: OptimisedBatch, iteration: int) -> None:
        # The step consumed the gradient; kept, every batch of a group would hold a canvas-sized one until its next
        # step (at 224x224, 0.8 MB an image: 0.2 GB of a 256-image group).
        batch.optimizer.zero_grad(set_to_none=True)
        if batch.generator is None:
            self.pipeline.after_step(batch.params)
        else:
            batch.optimizer.param_groups[1]["lr"] = generator_lr(self.config.generator_lr, iteration + 1)

    def objective(self, x, forward: Forward, stats: list, labels, rng: np.random.Generator):
        """The configured loss of one step: (total, BN term, output term); `labels` are the class targets (or None),
        `rng` draws what the terms need at random (the decorrelation's reference batch)."""

        def decorrelation():
            if x.shape[0] < 2:
                return None
            reference = torch.tensor(rng.standard_normal(tuple(x.shape), dtype=np.float32), device=self.device)
            return correlation_inhibition(x, reference)

        values = {
            "bn": lambda: self._losses(stats),
            "output": lambda: self.output_loss(forward.outputs, forward.heads, self._last_bn(forward)),
            "class": lambda: class_cross_entropy(forward.outputs[0], labels) if labels is not None else None,
            "tv": lambda: total_variation_l2(x),
            "l2": lambda: l2_prior(x),
            "correlation": decorrelation,
            "tail": lambda: tail_excess(forward.bn_inputs, self.targets[1:], self.config.tail_bound),
        }
        zero = torch.zeros((), device=self.device)
        return compose(self.config, len(self.prepared.bn_sites), values, zero)

    def _final_images(self, batches: list[OptimisedBatch]) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([self.pipeline.final_view(b.canvas()).float().cpu().numpy() for b in batches])

    # --- measurement ---------------------------------------------------------------------------------

    def engine_record(self) -> dict:
        import platform

        c = self.config
        record = {
            "name": "torch",
            "device": c.device.value,
            "precision": c.precision.value,
            "micro_batch": self.model.micro_batch,
            "allocator_keeps_freed_memory": self.model.kept_freed_memory,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
        if c.low_res_fraction:  # {} where the model does not run at half size
            image = self.prepared.image
            low = [p for p in phases(c, self.coarsest_pool) if p.pool > 1]
            record["low_resolution_iterations"] = {f"{image.height // p.pool}x{image.width // p.pool}": p.iterations
                                                   for p in low}  # fmt: skip
        return record

    def measure(self, images: np.ndarray) -> Measured:
        with torch.no_grad():
            x = torch.tensor(images, device=self.device)
            forward = self.model(x)
        layers = [t.cpu().numpy() for t in [x, *forward.bn_inputs]]
        features = forward.heads[0].features.cpu().numpy() if forward.heads else None
        return Measured(layers, forward.outputs[0].cpu().numpy() if forward.outputs else None, features)


def bn_match(model, images: np.ndarray, config: GenerationConfig | None = None) -> float:
    """Mean relative gap (see relative_gaps) of an image set in model-input space: 0 is a perfect match.

    Scores any set (real, random, another generator's) against `model`'s running statistics.
    """
    prepared = model if isinstance(model, PreparedModel) else prepare_model(model)
    engine = TorchEngine(prepared, (config or GenerationConfig()).resolve(prepared.image.height, prepared.image.width))
    targets = StatisticsTargets.from_sites(prepared.bn_sites, prepared.image.channels)
    return float(np.mean(relative_gaps(engine.layer_statistics(images), targets)))


def _detached(layer_moments: list[tuple]) -> list[tuple]:
    return [(m.detach(), q.detach()) for m, q in layer_moments]
