"""SCALING.md from scaling.json: batch-job throughput of one process, shards and Ray, and a cluster estimate."""

from __future__ import annotations

NAME, MARKDOWN = "scaling", "SCALING.md"


def render(envelope: dict) -> str:
    result = envelope["data"]
    rows, r18 = result["modes"], result["resnet18_224_images_x_iterations_per_second"]
    base, one = rows["1 process, 2 threads"]["rate"], rows["1 process, 1 thread"]["rate"]
    shards = rows["2 shard processes + merge"]["rate"]
    ray_extra = rows["Ray, 2 workers"]["seconds"] - rows["2 shard processes + merge"]["seconds"]
    table = [
        "| mode | wall s (median) | runs | images x iterations / s | vs 1 process, 2 threads |",
        "|---|---|---|---|---|",
    ]
    for mode, row in rows.items():
        runs = ", ".join(f"{t:.1f}" for t in row["all"])
        table.append(f"| {mode} | {row['seconds']:.1f} | {runs} | {row['rate']:.0f} | {row['rate'] / base:.2f}x |")
    work = 100_000 * 500  # images x iterations: 100,000 ImageNet-size images at MCT's 500 iterations
    node_days = work / r18 / 86400
    gpu_rate = 1024 * 1000 / (12.5 * 60)  # MCT README: ResNet-18, 1024 images x 1000 iterations in 12.5 min
    return f"""# Batch-job throughput: processes, shards and Ray

Command: `{envelope["command"]}` (this file and scaling.json).
Job: CIFAR-10 ResNet-20, {result["n_images"]} images, {result["n_iter"]} iterations, groups of {result["group_size"]}
({result["n_images"] // result["group_size"]} groups), npy only; {envelope["machine"]["cores"]} CPUs, shared and noisy.
Wall time from the command's start to the complete dataset, start-up included (Python import and
model conversion in every process; for Ray, starting the local instance). Every mode wrote the same
bytes (the script checks).

{chr(10).join(table)}

- A second torch thread gives {base / one:.2f}x over one; two one-thread shard processes give
  {shards / one:.2f}x over one thread ({shards / base:.2f}x over two threads), merge included.
- Ray with 2 workers took {ray_extra:.0f} s more than the two shard processes: starting the local
  instance, and each worker importing torch and converting the model. On a job this short that
  eats the gain; Ray is for jobs that do not fit one machine.

## An estimate for a cluster (not measured)

A 224x224 torchvision ResNet-18 runs at {r18:.1f} images x iterations / s here (2 threads, 16 images x 3
iterations). 100,000 ImageNet-size images at 500 iterations are {work:.1e} images x iterations:
about {node_days:.0f} days on one such 2-core node, so about {node_days / 16:.1f} days on 16 of them, or about
{node_days / 16 / 16 * 24:.0f} hours on 16 nodes of 32 cores if throughput grows with cores as two processes do
here. On GPUs, MCT's README reports ResNet-18 at 1024 images x 1000 iterations in 12.5 min, i.e.
about {gpu_rate:.0f} images x iterations / s per GPU: {work / gpu_rate / 3600:.1f} h on one GPU, about
{work / gpu_rate / 16 / 60:.0f} min on 16, plus a few seconds per worker to convert the model.
Groups are independent, so the work splits evenly until there are fewer groups than workers
(100,000 images are 98 groups of 1024 under all-images statistics; use a smaller --group-size
for more workers).
"""
