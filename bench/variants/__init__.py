"""Deployment variants: the trained model as it would be deployed, scored and timed.

A suite's `variants: [fp32, bf16, fp16, int8-dynamic, onnx, compile]` (default
`[fp32]`) asks, after each model of a quality task trains, for every other
variant to be built from the trained model (best weights restored), scored on
the same evaluation splits with the same metrics, compared with fp32 on the
same examples (paired test), and timed at one reference shape
(`variant_perf`). Records: quality cells `quality/<task>/<model>@<variant>/<split>`
and perf cells `perf/<task>/<model>@<variant>/<mode>/b<B>/s<S>`; the fp32 quality
cells keep their ids. A variant that cannot run is recorded with status
`unsupported` and the reason.

Modules: `build` (apply a variant), `onnx_rt` (ONNX Runtime; each adapter's
`export_onnx` hook exports it, e.g. `models/seq2seq_onnx.py`),
`paired` (paired tests vs fp32), `cost` (timing at the reference shape),
`run` (the runner's hook), `table` (the deployment table and Pareto plot).
This file stays import-light: `nlpbench validate` imports it.
"""
from __future__ import annotations

from nlpbench.extras import installed
from nlpbench.quality.ids import cell_id

VARIANTS = ("fp32", "bf16", "fp16", "int8-dynamic", "onnx", "compile")
INSTALL = "pip install -e '.[variants]' (or: make variants)"
# The packages each variant imports; checked at validate time without importing them.
NEEDS = {"int8-dynamic": ("torchao",), "onnx": ("onnx", "onnxruntime", "onnxscript")}


def variant_problems(names: list[str]) -> list[str]:
    """One line per variant whose packages are missing (exit 2 at validate time)."""
    problems = []
    for i, name in enumerate(names):
        missing = [m for m in NEEDS.get(name, ()) if not installed(m)]
        if missing:
            problems.append(f"variants.{i}: '{name}' needs {', '.join(missing)}, not installed; {INSTALL}")
    if "fp32" not in names:
        problems.append("variants: must include fp32 (every variant is compared with it); given " + ", ".join(names))
    return problems


def suite_problems(suite) -> list[str]:
    """The `variants:` stage's validate-time problems (nlpbench.suite.stages)."""
    return variant_problems(suite.variants)


def variant_cell(task_label: str, model_label: str, variant: str, split: str) -> str:
    """Quality cell id of a variant; fp32 keeps the plain id so baselines still match."""
    name = model_label if variant == "fp32" else f"{model_label}@{variant}"
    return cell_id(task_label, name, split)


def variant_perf_cell(task_label: str, model_label: str, variant: str, mode: str, batch: int, seq: int) -> str:
    return f"perf/{task_label}/{model_label}@{variant}/{mode}/b{batch}/s{seq}"
