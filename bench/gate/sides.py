"""The two sides of a comparison: a run folder or a baseline file, and how a baseline is written.

A baseline file (`nlpbench baseline RUN_DIR FILE --kinds ...`):
    {"format": "nlpbench-baseline/2", "suite": "quick", "created_at": "...", "kinds": ["quality", "cost"],
     "source_run": "quick-2025...", "git_sha": "abc1234",
     "machine": {"device": ..., "cpu": ..., "threads": ..., "torch": ..., "cuda": ...},
     "fingerprint": {<what decides a model's digits: nlpbench.gate.fingerprint>},
     "records": [<records.jsonl lines, one per cell; a quality cell with
                  "examples": {"prediction": [...], "reference": [...]}, its per-example predictions>]}
Kind `cost` keeps of each perf cell only what does not depend on the machine (parameters, FLOPs, weight,
state and activation bytes, serialized size) and no timings, so a baseline from one machine gates another.
Format /1 (no fingerprint, no examples) still loads; any other format, or a cell listed twice, is BadInput.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nlpbench.errors import BadInput
from nlpbench.gate.fingerprint import fingerprint, from_baseline
from nlpbench.quality import predictions
from nlpbench.report.write import load_records, machine_info, read_meta
from nlpbench.store.records import utc_now

FORMAT = "nlpbench-baseline/2"
FORMATS = ("nlpbench-baseline/1", FORMAT)  # what this version reads
# `samples`: three predictions to eyeball (the examples hold them all); `predictions`: a path into the run folder
BASELINE_DROP = ("samples", "predictions")
BASELINE_KINDS = ("quality", "perf", "cost")
# A perf cell's machine-independent cost: (record key, tolerance key). The gate checks each with a relative
# tolerance on any machine (nlpbench.gate.perf.cost_deltas); `model_size_mb` where a writer records one.
COST_FIELDS = (("n_params", "params"), ("flops", "flops"), ("weights_mb", "weights"), ("state_mb", "state"),
               ("activations_mb", "activations"), ("model_size_mb", "size"))
# What a cost record keeps besides COST_FIELDS: what identifies the cell and how its memory was measured.
COST_KEEP = ("cell", "kind", "status", "error", "suite", "task", "dataset", "model", "name", "mode", "batch_size",
             "seq_len", "dtype", "compile", "device", "memory_kind", "memory_method", "flops_complete",
             "quality_cell", "vocab_size")


@dataclass
class Side:
    label: str
    machine: dict
    records: dict[str, dict]  # cell id -> record
    suite: str | None = None
    fingerprint: dict | None = None  # what decides a trained model's digits (nlpbench.gate.fingerprint)
    root: Path | None = None  # the run folder, whose predictions/ hold each quality cell's examples

    def examples(self, cell: str) -> tuple[list, list] | None:
        """(predictions, references) of a quality cell, example by example; None when this side has none."""
        rec = self.records.get(cell) or {}
        ex = rec.get("examples")
        if isinstance(ex, dict) and isinstance(ex.get("prediction"), list) and isinstance(ex.get("reference"), list):
            return ex["prediction"], ex["reference"]
        lines = predictions.read(self.root, rec) if self.root is not None else None
        return ([x["prediction"] for x in lines], [x["reference"] for x in lines]) if lines else None


def load_side(path: Path) -> Side:
    """A run folder (records.jsonl + run.json) or a baseline JSON file; BadInput when it holds no records."""
    path = Path(path)
    if path.is_dir():
        meta = read_meta(path)
        side = Side(path.name, machine_info(meta), by_cell(load_records(path)), meta.get("suite"),
                    fingerprint(meta), path)
    elif path.is_file():
        side = _load_file(path)
    else:
        raise BadInput(f"compare: '{path}' is neither a run folder nor a baseline JSON file")
    if not side.records:
        raise BadInput(f"compare: '{path}' holds no records: nothing to compare")
    return side


def _load_file(path: Path) -> Side:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"compare: baseline '{path}' is not JSON ({e})")
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise BadInput(f"compare: baseline '{path}' has no 'records' list (format {FORMAT})")
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:  # a newer nlpbench's file: its new fields would be ignored
        raise BadInput(f"compare: baseline '{path}' has format {fmt!r}; this nlpbench reads {' and '.join(FORMATS)} "
                       "(a newer nlpbench wrote it? upgrade, or rewrite it with `nlpbench baseline`)")
    bad = [i for i, r in enumerate(data["records"])
           if not isinstance(r, dict) or not isinstance(r.get("cell"), str) or not isinstance(r.get("kind"), str)]
    if bad:  # a hand-edited or truncated file: better refused than half compared
        raise BadInput(f"compare: baseline '{path}': record(s) {', '.join(map(str, bad[:10]))} are not records "
                       "(objects with a 'cell' and a 'kind')")
    cells = [r["cell"] for r in data["records"]]
    twice = sorted({c for c in cells if cells.count(c) > 1})
    if twice:  # which one would be the baseline? refused rather than one silently winning
        raise BadInput(f"compare: baseline '{path}' lists {len(twice)} cell(s) more than once: "
                       f"{', '.join(twice[:5])}{' ...' if len(twice) > 5 else ''}")
    machine = machine_info({"machine": data.get("machine")} if isinstance(data.get("machine"), dict) else {})
    return Side(path.name, machine, by_cell(data["records"]), data.get("suite"), from_baseline(data))


def by_cell(records: list[dict]) -> dict[str, dict]:
    return {str(r["cell"]): r for r in records if "cell" in r}


def cost_record(rec: dict) -> dict:
    """A perf record without its timings: the cell's identity and its machine-independent cost."""
    keep = set(COST_KEEP) | {key for key, _ in COST_FIELDS}
    return {k: v for k, v in rec.items() if k in keep}


def write_baseline(run_dir: Path, path: Path, kinds: tuple[str, ...] = ("quality", "perf")) -> Path:
    """Freezes a run's records (of `kinds`; `cost`: perf cells' cost, no timings) and machine fingerprint
    into a baseline file."""
    run_dir, path = Path(run_dir), Path(path)
    if not run_dir.is_dir():
        raise BadInput(f"baseline: run folder '{run_dir}' does not exist")
    if path.is_dir():
        raise BadInput(f"baseline: '{path}' is a directory; give the baseline's file name (e.g. {path / 'quick-cpu.json'})")
    meta = read_meta(run_dir)
    records = []
    for r in load_records(run_dir):
        if r.get("kind") in kinds:
            records.append(_with_examples(run_dir, r))
        elif r.get("kind") == "perf" and "cost" in kinds:
            records.append(cost_record(r))
    if not records:
        raise BadInput(f"baseline: run folder '{run_dir}' has no {' or '.join(kinds)} records")
    data = {"format": FORMAT, "suite": meta.get("suite") or records[0].get("suite"), "kinds": list(kinds),
            "created_at": utc_now(), "source_run": run_dir.name, "git_sha": meta.get("git_sha"),
            "machine": machine_info(meta), "fingerprint": fingerprint(meta), "records": records}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def _with_examples(run_dir: Path, rec: dict) -> dict:
    """A record for a baseline: without bulk, and for a quality cell with its per-example predictions and
    references (what a paired test on another machine needs; a few hundred a cell)."""
    out = {k: v for k, v in rec.items() if k not in BASELINE_DROP}
    lines = predictions.read(run_dir, rec) if rec.get("kind") == "quality" else None
    if lines:
        out["examples"] = {"prediction": [x["prediction"] for x in lines], "reference": [x["reference"] for x in lines]}
    return out


def parse_kinds(text: str) -> tuple[str, ...]:
    """`--kinds quality,cost` -> ("quality", "cost"); BadInput naming what is allowed."""
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in BASELINE_KINDS]
    if bad or not kinds:
        raise BadInput(f"--kinds: allowed {', '.join(BASELINE_KINDS)} (comma-separated); given {text!r}")
    return kinds
