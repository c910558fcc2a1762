"""MEMORY.md from memory.json: peak memory of `datagen generate` against the number of images, by build."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "memory", "MEMORY.md"


def render(result: dict) -> str:
    results = result["data"]
    lines = [
        "# Peak memory against dataset size",
        "",
        "`datagen generate resnet20.onnx --normalization imagenet -n N --format npy,png --threads 2` with",
        "`--n-iter 1` (bn-inversion) or `--preset fractal` (CIFAR ResNet-20, 3x32x32, BN kept), each size in a fresh",
        "process; peak RSS of that process. Wall times are from a shared machine: they say little.",
        f"Regenerate: `{result['command']}`. CPU: {cpu_line(result['machine'])}.",
        "",
        "| build | mode | images | peak RSS | wall | written |",
        "|---|---|---|---|---|---|",
    ]
    for label, modes in results["runs"].items():
        for mode, rows in modes.items():
            for row in rows:
                lines.append(
                    f"| {label} | {mode} | {row['n_images']} | {row['peak_rss_mib']:.0f} MiB | {row['seconds']:.0f} s "
                    f"| {row['written_mb']:.0f} MB |"
                )
    if results.get("findings"):  # written by hand after the runs, kept with them
        lines += ["", results["findings"]]
    return "\n".join(lines) + "\n"
