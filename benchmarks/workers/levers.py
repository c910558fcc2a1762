"""The lever probes' generate runs, each in a fresh process (`python -m benchmarks.workers.levers KIND ARGS`) so its
wall time, CPU time and peak memory are its own. Levers that are not options of the tool change the converted module
or the engine as it is built (replace_module, and the patches below); each child prints one JSON line when it has a
report.

    levers MODEL N BATCH ITERS KEEP PRECISION CHANNELS_LAST    allocator, batch, precision, memory format
    activation_memory MODEL N ITERS BATCH SEGMENTS RELEASE FOLDER    checkpointing, gradient release, CLI route
    compile MODEL MODE                                          torch.compile against eager ("compiled"/"eager")
    engine MODEL ENGINE ITERS                                   torch against ort-training
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def replace_module(change) -> None:
    """Every TorchModel built from now on holds change(its converted module)."""
    import onnx_datagen.engines.torch.engine as engine

    init = engine.TorchModel.__init__

    def changed_init(self, *args):
        init(self, *args)
        self.module = change(self.module)

    engine.TorchModel.__init__ = changed_init


def imagenet_config(**settings):
    from onnx_datagen import GenerationConfig, Normalization

    return GenerationConfig(normalization=Normalization.preset("imagenet"), **settings)


def levers(model, n, batch, iters, keep, precision, channels_last) -> None:
    import torch

    import onnx_datagen
    import onnx_datagen.engines.torch.engine as engine

    torch.set_num_threads(2)
    if keep != "1":
        engine.keep_freed_memory = lambda: False
    if channels_last == "1":
        replace_module(lambda module: module.to(memory_format=torch.channels_last))
        run = engine.TorchModel._run
        engine.TorchModel._run = lambda self, x: run(self, x.contiguous(memory_format=torch.channels_last))
    config = imagenet_config(n_iter=int(iters), batch_size=int(batch), granularity="per-batch", precision=precision)
    onnx_datagen.generate(model, int(n), config)


def activation_memory(model, n, iters, batch, segments, release, folder) -> dict:
    """folder: "" for generate(), else run_job's output folder."""
    import torch

    import onnx_datagen
    import onnx_datagen.engines.torch.engine as engine
    from onnx_datagen import GenerationConfig, Normalization

    torch.set_num_threads(2)
    segments = int(segments)
    if segments:
        from torch.fx.passes.split_module import split_module
        from torch.utils.checkpoint import checkpoint

        def checkpointed(module):
            nodes = [node for node in module.graph.nodes if node.op not in ("placeholder", "output")]
            part = {node: i * segments // len(nodes) for i, node in enumerate(nodes)}
            split = split_module(module, module, lambda node: part[node])
            for sub in split.children():
                sub.forward = (lambda f: lambda *a: checkpoint(f, *a, use_reentrant=False))(sub.forward)
            return split

        replace_module(checkpointed)
    if release != "1":  # the engine before: zero (free) a batch's gradient just before its next backward
        step, after = engine.TorchEngine._step, engine.TorchEngine._after_update

        def zero_then_step(self, b, slot):
            b.optimizer.zero_grad(set_to_none=True)
            return step(self, b, slot)

        def after_keeping_gradient(self, b, iteration):
            b.optimizer.zero_grad = lambda set_to_none=True: None
            try:
                after(self, b, iteration)
            finally:
                del b.optimizer.zero_grad

        engine.TorchEngine._step, engine.TorchEngine._after_update = zero_then_step, after_keeping_gradient
    config = GenerationConfig.from_dict({"n_iter": int(iters), "batch_size": int(batch), "init": "gaussian"})
    config = config.replace(normalization=Normalization.preset("imagenet"))
    if folder:
        from onnx_datagen.run.jobs import GenerationJob, run_job

        dataset = run_job(GenerationJob(model, folder, int(n), config, overwrite=True)).dataset
    else:
        dataset = onnx_datagen.generate(model, int(n), config)
    return {
        "rate": dataset.manifest["timing"]["images_x_iterations_per_second"],
        "group_size": dataset.manifest["config"]["group_size"],
    }  # its peak memory: the harness's child runner


def compile(model, mode) -> dict:  # noqa: A001 - the KIND's name
    import torch

    import onnx_datagen

    torch.set_num_threads(2)
    if mode == "compiled":
        replace_module(torch.compile)
    config = imagenet_config(n_iter=12, batch_size=8, granularity="per-batch", low_res_fraction=0.0)
    started, stamps = time.perf_counter(), []
    onnx_datagen.generate(model, 8, config, progress=lambda _report: stamps.append(time.perf_counter()))
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"setup_s": stamps[0] - started, "step_s": statistics.median(steps)}


def engine(model, engine_name, iters) -> None:
    import torch

    import onnx_datagen

    torch.set_num_threads(2)
    config = imagenet_config(n_iter=int(iters), batch_size=8, granularity="per-batch", low_res_fraction=0.0,
                             engine=engine_name)  # fmt: skip
    onnx_datagen.generate(model, 16, config)


KINDS = {"levers": levers, "activation_memory": activation_memory, "compile": compile, "engine": engine}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in KINDS:
        print(__doc__)
        raise SystemExit(0 if sys.argv[1:2] in (["-h"], ["--help"]) else 2)
    report = KINDS[sys.argv[1]](*sys.argv[2:])
    if report is not None:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
