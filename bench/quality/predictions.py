"""Per-example predictions of each quality cell, kept in the run folder.

`RUN_DIR/predictions/<cell id made filename-safe>.jsonl`, one line per evaluated
example in split order: `{"id", "input", "prediction", "reference"}` plus, for
classification, `"probs"` (one probability per class, in label order) when the
adapter can give them. The cell's record names the file (`predictions`, relative
to the run folder); a redone cell (`--resume`) overwrites it. Pairwise tests and
tables read these files, so they compare models on exactly the same examples.

Class probabilities come from the adapter's optional `predict_proba(batch)`
(a list of per-class probability lists); without it, from a softmax over
`forward(batch)` when that returns [batch, num_labels] logits; else none.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from nlpbench.adapter import hook
from nlpbench.errors import BadInput, shown
from nlpbench.quality.train import autocast
from nlpbench.tasks import get_task

DIR = "predictions"


def filename(cell: str) -> str:
    """`quality/classification/lstm/test/seed1` -> `quality__classification__lstm__test__seed1.jsonl`."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", cell.replace("/", "__")) + ".jsonl"


def probabilities(adapter, examples: list[dict], batch_size: int, num_labels: int | None,
                  dtype: str = "fp32") -> list[list[float]] | None:
    """Class probabilities of `examples` in their order, or None when the adapter can't give them."""
    proba = hook(adapter, "predict_proba")
    out: list = []
    adapter.model.eval()
    device = next(adapter.model.parameters()).device
    with torch.inference_mode(), autocast(device, dtype):
        for start in range(0, len(examples), batch_size):
            batch = adapter.collate(examples[start : start + batch_size])
            if proba is not None:
                out += [list(map(float, p)) for p in proba(batch)]
                continue
            logits = adapter.forward(batch)
            if not (isinstance(logits, torch.Tensor) and logits.dim() == 2 and logits.shape[-1] == num_labels):
                return None
            out += logits.float().softmax(-1).tolist()
    return out


def rows(task: str, ds, preds: list, refs: list, probs: list | None) -> list[dict]:
    inputs = ds[get_task(task).input_role]
    out = []
    for i, (x, p, r) in enumerate(zip(inputs, preds, refs)):
        row = {"id": i, "input": x, "prediction": p, "reference": r}
        if probs is not None:
            row["probs"] = [round(v, 6) for v in probs[i]]
        out.append(row)
    return out


def write(run_dir: Path, cell: str, lines: list[dict]) -> str:
    """Writes (atomically, replacing an older file of the cell) and returns the path relative to run_dir."""
    rel = f"{DIR}/{filename(cell)}"
    path = Path(run_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return rel


def read(run_dir: Path, record: dict) -> list[dict] | None:
    """The prediction lines a record names (None when it names none or the file is gone).

    A file that is not what `write` writes (not UTF-8, a line that is not a JSON object) is BadInput naming
    the file and line; so is a name that leads out of the run folder (records are data)."""
    rel = record.get("predictions")
    path = Path(run_dir) / rel if isinstance(rel, str) and rel else None
    if path is None or not path.is_file():
        return None
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise BadInput(f"{Path(run_dir) / 'records.jsonl'}: cell {shown(record.get('cell'))} names predictions "
                       f"outside the run folder: {shown(rel)}")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    lines = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                row = None
            if not isinstance(row, dict) or not {"prediction", "reference"} <= row.keys():
                raise BadInput(f"{path}: line {n} is not a prediction (a JSON object with prediction and reference); rerun the cell or "
                               "delete the file")  # fmt: skip
            lines.append(row)
    return lines
