"""How often pairwise tables call a difference between equally good models (a check, not a test).

    python -m nlpbench.report.null_sim --models 6 --tables 40 [--n 300] [--accuracy 0.8] [--seeds 1]

Each table is a run folder written here with `--models` classifiers that are equally good by
construction (every prediction right with probability `--accuracy`, independently), read back by the
report's own pairwise code (`nlpbench.report.pairwise.tables`). Any verdict other than "no detectable
difference" is false. Prints, per table, the false verdicts from the raw p (what the tables said before
Holm) and from `p_holm` (what they say now), and the share of tables with at least one.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from nlpbench.quality import predictions
from nlpbench.quality.ids import cell_id
from nlpbench.report import pairwise
from nlpbench.store.results import read_records


def write_table_run(root: Path, rng: np.random.Generator, models: int, n: int, accuracy: float, seeds: int) -> Path:
    refs = rng.integers(0, 2, size=n)
    root.mkdir(parents=True)
    with open(root / "records.jsonl", "w", encoding="utf-8") as f:
        for m in range(models):
            for s in range(seeds):
                right = rng.random(n) < accuracy
                preds = np.where(right, refs, 1 - refs)
                cell = cell_id("classification", f"m{m}", "test", s if seeds > 1 else None)
                lines = [{"id": i, "input": "", "prediction": int(p), "reference": int(r),
                          "probs": [0.8, 0.2] if p == 0 else [0.2, 0.8]} for i, (p, r) in enumerate(zip(preds, refs))]
                rec = {"cell": cell, "kind": "quality", "task": "classification", "dataset": "null", "split": "test",
                       "model": "sim", "name": f"m{m}", "seed": s, "status": "ok",
                       "metrics": {"accuracy": float(right.mean()), "f1_macro": 0.0},
                       "predictions": predictions.write(root, cell, lines)}
                f.write(json.dumps(rec) + "\n")
    return root


def false_verdicts(frame) -> tuple[int, int, int]:
    """(tests in the family, false verdicts by raw p, false verdicts by Holm p) of one pairwise table."""
    family = frame[frame["verdict"].notna()]
    raw = sum(_p(p) < 0.05 and d != 0 for p, d in zip(family["p"], family["delta"]))
    holm = sum(not v.startswith("no detectable") for v in family["verdict"])
    return len(family), raw, holm


def _p(text: str) -> float:
    return 0.0 if text.startswith("<") else float(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlpbench.report.null_sim", description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=int, default=6)
    ap.add_argument("--tables", type=int, default=40)
    ap.add_argument("--n", type=int, default=300, help="test examples per table")
    ap.add_argument("--accuracy", type=float, default=0.8)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(args.tables):
            rd = write_table_run(Path(tmp) / f"t{t}", rng, args.models, args.n, args.accuracy, args.seeds)
            (table,) = pairwise.tables(rd, read_records(rd))
            counts.append(false_verdicts(table.frame))
    tests, raw, holm = (np.array(c) for c in zip(*counts))
    print(f"{args.tables} tables, {args.models} equally good models, {tests[0]} tests per table, n = {args.n}, "
          f"seeds = {args.seeds}")
    print(f"raw p < 0.05 : {raw.mean():.2f} false verdicts per table, {np.mean(raw > 0):.3f} of tables with one")
    print(f"Holm p < 0.05: {holm.mean():.2f} false verdicts per table, {np.mean(holm > 0):.3f} of tables with one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
