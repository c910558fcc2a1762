"""The generator method's engine: trains one conditional generator against the BN objective, then samples it."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import numpy as np
import torch

from onnx_datagen.config.generation import ResolvedConfig, require_resolved
from onnx_datagen.engines.base import (
    Engine,
    Group,
    Measured,
    OptimisedBatch,
    Phase,
    ProgressSink,
    optimisation_loop,
    phases,
)
from onnx_datagen.engines.optimizers import OPTIMIZERS
from onnx_datagen.engines.schedules import make_schedule
from onnx_datagen.engines.torch.engine import TorchEngine, TorchModel
from onnx_datagen.errors import ModelError
from onnx_datagen.files import atomic_write_bytes
from onnx_datagen.graph.heads import classifier_classes
from onnx_datagen.graph.prepare import PreparedModel, model_record
from onnx_datagen.images.generator_file import META_PREFIX, cycled_labels, latent_codes
from onnx_datagen.images.generators import ConvGenerator, swinging
from onnx_datagen.objective.report import LayerSums
from onnx_datagen.runtime import inference_session

GENERATOR_STREAM = 4  # weights and training batches derive from (seed, GENERATOR_STREAM, ...)
RECALIBRATION_BATCHES = 20  # batches of samples that re-estimate the generator's BN statistics after training
EXPORT_TOLERANCE = 1e-3  # largest |ONNX Runtime - torch| accepted for the exported generator


class _Sampler(torch.nn.Module):
    """What the exported file computes: the generator, then the final view (smoothing, crop, clamp)."""

    def __init__(self, generator: ConvGenerator, pipeline) -> None:
        super().__init__()
        self.generator, self.pipeline = generator, pipeline

    def forward(self, latents, labels):
        return self.pipeline.final_view(self.generator(latents, labels))


class GeneratorTrainer(Engine):
    def __init__(self, prepared: PreparedModel, config: ResolvedConfig, model: TorchModel | None = None) -> None:
        config = require_resolved(config)
        self.config, self.prepared = config, prepared
        self.pixels = TorchEngine(prepared, config, model)  # the model, view pipeline, BN targets and objective
        self.classes = classifier_classes(prepared)
        self.label_cycle = self.pixels.label_cycle or list(range(self.classes))
        self.device = self.pixels.device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(np.random.default_rng([config.seed, GENERATOR_STREAM]).integers(2**63)))
            self.generator = ConvGenerator(
                config.latent_dim,
                prepared.image.channels,
                *self.pixels.pipeline.canvas_size,
                classes=self.classes,
            ).to(self.device)
        self.untrained = copy.deepcopy(self.generator).eval()  # scores the "initial" images
        self.trained = False

    @property
    def pipeline(self):
        return self.pixels.pipeline

    @property
    def model(self) -> TorchModel:
        return self.pixels.model

    def _batch(self, step: int) -> tuple:
        c = self.config
        rng = np.random.default_rng([c.seed, GENERATOR_STREAM, step])
        z = torch.tensor(rng.standard_normal((c.batch_size, c.latent_dim), dtype=np.float32), device=self.device)
        labels = torch.tensor(cycled_labels(self.label_cycle, step * c.batch_size, c.batch_size), device=self.device)
        return z, labels, rng

    def train(self, progress: ProgressSink | None = None) -> None:
        """n_iter steps of the shared optimisation loop, on one 'batch': the generator's weights, fed fresh latents
        and labels drawn from (seed, step) every step."""
        c = self.config
        self.generator.train()
        weights = OptimisedBatch(0, c.batch_size, list(self.generator.parameters()), np.random.default_rng(0))
        self.steps_done = 0
        optimisation_loop(self, Group(0, 0, c.batch_size), [weights], phases(c, 1), progress)
        self._recalibrate()
        self.trained = True

    def _start_phase(self, batches: list[OptimisedBatch], phase: Phase) -> None:
        for batch in batches:
            batch.optimizer = OPTIMIZERS[self.config.optimizer](batch.params, self.config)
            batch.schedule = make_schedule(self.config, phase.iterations)

    def _step(self, batch: OptimisedBatch, slot: int) -> tuple[float, float, float]:
        c = self.config
        z, labels, rng = self._batch(self.steps_done)
        self.steps_done += 1
        batch.optimizer.zero_grad(set_to_none=True)
        x = self.pipeline.training_view(self.generator(z, labels), rng)
        swing = self.pixels.swing_convs
        with swinging(swing, rng) if swing else contextlib.nullcontext():
            forward = self.model(x)
        stats = self.pixels._layer_moments(x, forward, c.granularity)
        targets = labels if c.class_weight else None
        loss, bn_loss, output_loss = self.pixels.objective(x, forward, stats, targets, rng)
        loss.backward()
        return float(loss.detach()), float(bn_loss.detach()), float(output_loss.detach())

    def _after_update(self, batch: OptimisedBatch, iteration: int) -> None:
        pass

    def _recalibrate(self) -> None:
        """Replace the BN running statistics (momentum averages of the last steps) by exact averages over fresh
        samples of the trained generator, then switch to eval mode: each image then depends on its own inputs."""
        norms = [m for m in self.generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average
        self.generator.train()
        with torch.no_grad():
            for k in range(RECALIBRATION_BATCHES):
                z, labels, _ = self._batch(self.config.n_iter + k)
                self.generator(z, labels)
        for norm in norms:
            norm.momentum = 0.1
        self.generator.eval()

    def sample(self, start: int, count: int, generator=None) -> np.ndarray:
        """Images start..start+count-1: latent codes from (seed, i), labels cycled, as `datagen sample` draws them."""
        c = self.config
        z = torch.tensor(latent_codes(c.seed, start, count, c.latent_dim), device=self.device)
        labels = torch.tensor(cycled_labels(self.label_cycle, start, count), device=self.device)
        with torch.no_grad():
            return self.pipeline.final_view((generator or self.generator)(z, labels)).float().cpu().numpy()

    def optimize(
        self, group: Group, progress: ProgressSink | None = None
    ) -> tuple[LayerSums, np.ndarray, LayerSums | None]:
        if not self.trained:  # once per process; every group samples the same trained generator
            self.train(progress)
        initial = self.layer_sums(self.sample(group.start, group.size, self.untrained))
        images = self.sample(group.start, group.size)
        return initial, images, self.layer_sums(images) if self.prepared.bn_sites else None

    def measure(self, images: np.ndarray) -> Measured:
        return self.pixels.measure(images)

    def engine_record(self) -> dict:
        return self.pixels.engine_record()

    def export_onnx(self, path: str | Path) -> None:
        """Write the trained generator (with the final view) as ONNX: inputs latents [N, D] float32 and labels [N]
        int64, output images [N, C, H, W] in model-input space; checked against torch with ONNX Runtime."""
        import warnings

        import onnx

        sampler = _Sampler(self.generator, self.pipeline).eval()  # the exporter restores the mode it found
        z = torch.tensor(latent_codes(self.config.seed, 0, 4, self.config.latent_dim), device=self.device)
        labels = torch.tensor(cycled_labels(self.label_cycle, 0, 4), device=self.device)
        tmp = Path(str(path) + ".export")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                sampler,
                (z, labels),
                str(tmp),
                dynamo=False,
                opset_version=17,
                input_names=["latents", "labels"],
                output_names=["images"],
                dynamic_axes={"latents": {0: "N"}, "labels": {0: "N"}, "images": {0: "N"}},
            )
        model = onnx.load(str(tmp))
        tmp.unlink()
        c = self.config
        metadata = {
            "classes": self.classes,
            "latent_dim": c.latent_dim,
            "label_cycle": self.label_cycle,
            "image_shape": list(self.prepared.image.chw),
            "normalization": c.to_dict()["normalization"],
            "model": model_record(self.prepared),  # the model the images are for
            "config": c.to_dict(),
        }
        for key, value in metadata.items():
            model.metadata_props.add(key=META_PREFIX + key, value=json.dumps(value))
        with torch.no_grad():
            expected = sampler(z, labels).cpu().numpy()
        got = inference_session(model).run(None, {"latents": z.cpu().numpy(), "labels": labels.cpu().numpy()})[0]
        error = float(np.abs(got - expected).max())
        if error > EXPORT_TOLERANCE:
            raise ModelError(f"the exported generator differs from torch by {error:.3g}; please report this")
        atomic_write_bytes(Path(path), model.SerializeToString())
