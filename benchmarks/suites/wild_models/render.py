"""WILD_MODELS.md from wild_models.json: what inspect and generate do with other people's ONNX files, and how good
the sets are."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "wild_models", "WILD_MODELS.md"


def render(result: dict) -> str:
    rows = result["data"]["rows"]
    lines = [
        "# Models from the wild",
        "",
        "Pretrained ONNX files shipped inside PyPI wheels, made by other people's exporters, used through the CLI "
        "with the defaults (`benchmarks/suites/wild_models/run.py` says how each is fetched, checked and scored).",
        "",
        f"    {result['command']}",
        "",
        f"Machine: {cpu_line(result['machine'])}. ORT W8A8 MinMax, scored on 100 held-out natural photos at the "
        "model's size: the first "
        "output's SQNR (dB) against the float model, and top-1 agreement for the classifiers.",
        "",
        "| model | made by | licence | inspect | input check: fits best | generate | BN loss start -> end "
        "| SQNR datagen / photos / noise | agreement datagen / photos / noise |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ins = row["inspect"]
        what = f"{ins['verdict']}: {ins['method'] or 'refused'}, {ins['bn_layers']} BN"
        if ins["dead_channels"]:
            what += f", {ins['dead_channels']} dead ch"
        if ins["means_only"]:
            what += f", {ins['means_only']} decomposed"
        gen = row["generate"]
        made = f"{gen.get('method', 'exit ' + str(gen['exit']))}, {gen['seconds']} s"
        loss = gen.get("bn_loss") or [None, None]
        loss_cell = " -> ".join(f"{v:.3g}" for v in loss) if loss[0] is not None else "-"
        sqnr = _cells(row, "sqnr_db", lambda v: f"{v:.1f}")
        agree = _cells(row, "agreement", lambda v: f"{v:.1f}")
        fit = ins.get("input_fit")
        fit_cell = "- (no BN statistics)" if not fit else f"`{fit}`" + (
            "" if ins["package_normalization"] is None else
            " (the package's)" if _is_package(ins) else " (not the package's)")  # fmt: skip
        if ins.get("input_warning"):
            fit_cell += "; warns on the package's options"
        lines.append(f"| {row['name']} | {row['made_by']} | {row['licence']} | {what} | {fit_cell} | {made} | "
                     f"{loss_cell} | {sqnr} | {agree} |")  # fmt: skip
    checked = [r["inspect"] for r in rows if r["inspect"].get("input_fit") and r["inspect"]["package_normalization"]]
    lines += ["", "CI runs two of these files itself (tests/wild_models/: ppocr_cls_v2, Apache-2.0, and retinaface, "
              "MIT, 2.3 MB with their NOTICE): inspect's verdict and a default generate must agree. The others are "
              "fetched here and never copied into the repository (two are AGPL-3.0)."]  # fmt: skip
    agreed = sum(r["inspect"]["method"] == r["generate"].get("method") for r in rows)
    lines += ["", f"inspect's predicted method is the one generate ran (or both refuse) for {agreed} of {len(rows)} "
              "files."]  # fmt: skip
    warned = sum(bool(i.get("input_warning")) for i in checked)
    lines += ["", f"Input check (inspect with each package's own normalisation): the convention the first BN layers "
              f"fit best is the package's for {sum(map(_is_package, checked))} of the {len(checked)} models with BN "
              f"statistics; it warned on {warned} of them."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _is_package(inspected: dict) -> bool:
    """Whether the convention the input check found is the package's (labels carry a note in brackets)."""
    return inspected["input_fit"].split(" (")[0] == inspected["package_normalization"]


def _cells(row: dict, key: str, fmt) -> str:
    """One score for the datagen, photo and noise sets, '-' where there is none."""
    scores = row.get("w8a8_minmax", {})
    values = [scores.get(k, {}).get(key) for k in ("datagen", "photos", "noise")]
    return " / ".join("-" if v is None else fmt(v) for v in values)
