"""Paired tests between the models of one run, on the same examples, read from the saved predictions.

For each task, data set and split, every pair of models (suite order, A before B)
gets, per metric, Δ = A − B with a 95% interval, a p-value and a plain verdict:
- accuracy: McNemar's exact test; Δ's interval by a paired bootstrap over examples;
- macro-F1: paired bootstrap (interval and p);
- BLEU, chrF: sacreBLEU's paired bootstrap (`PairedTest`, what `sacrebleu --paired-bs` runs).

With seeds, classification compares the seed-averaged models: each example's
class probabilities are averaged over seeds (majority vote when a model gave no
probabilities) and the test runs on those predictions. Translation outputs can't
be averaged, so each seed of A is tested against the same seed of B and the row
reports the mean Δ, the widest interval and the largest p (significant only when
every seed pair is).
"""
from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from nlpbench.quality import predictions, stats
from nlpbench.report.tables import Spec, Table, record_name

TESTS = {"accuracy": "McNemar exact", "f1_macro": "paired bootstrap", "bleu": "sacreBLEU paired bootstrap",
         "chrf": "sacreBLEU paired bootstrap"}
COLUMNS = ("metric", "a", "b", "delta", "delta_lo", "delta_hi", "p", "test", "verdict")
N_BOOT = 1000


def _groups(run_dir: Path, records: list[dict]) -> dict[tuple, dict[str, dict[int, list[dict]]]]:
    """(task, dataset, split) -> model -> seed -> prediction lines (cells with a predictions file)."""
    out: dict = {}
    for r in records:
        if r.get("kind") != "quality" or r.get("status", "ok") != "ok":
            continue
        lines = predictions.read(run_dir, r)
        if lines:
            key = (str(r.get("task")), str(r.get("dataset")), str(r.get("split")))
            out.setdefault(key, {}).setdefault(record_name(r), {})[r.get("seed")] = lines
    return out


def _consensus(by_seed: dict[int, list[dict]]) -> list[int]:
    """One class per example over seeds: argmax of the mean probabilities, else the majority vote."""
    runs = list(by_seed.values())
    if all("probs" in ln for lines in runs for ln in lines):
        mean = np.mean([[ln["probs"] for ln in lines] for lines in runs], axis=0)
        return mean.argmax(-1).tolist()
    votes = zip(*[[ln["prediction"] for ln in lines] for lines in runs])
    return [min(Counter(v).most_common(), key=lambda kv: (-kv[1], kv[0]))[0] for v in votes]


def _classification(a: dict, b: dict, metrics: list[str]) -> list[dict]:
    refs = [ln["reference"] for ln in next(iter(a.values()))]
    pa, pb = _consensus(a), _consensus(b)
    rows = []
    for m in [m for m in metrics if m in stats.CORPUS]:
        fn = stats.CORPUS[m]
        boot = stats.paired_bootstrap(fn, pa, pb, refs, n_boot=N_BOOT, seed=0)
        p = boot["p"]
        if m == "accuracy":
            ra = np.asarray(refs)
            p = stats.mcnemar_exact(np.asarray(pa) == ra, np.asarray(pb) == ra)["p"]
        rows.append({"metric": m, "a": fn(pa, refs), "b": fn(pb, refs), "delta": boot["delta"],
                     "delta_lo": boot["ci95"][0], "delta_hi": boot["ci95"][1], "p": p, "test": TESTS[m]})
    return rows


def _translation(a: dict, b: dict, metrics: list[str]) -> list[dict]:
    seeds = [s for s in a if s in b]
    refs = [ln["reference"] for ln in a[seeds[0]]]
    rows = []
    for m in [m for m in metrics if m in ("bleu", "chrf")]:
        per = [stats.sacrebleu_paired(m, [ln["prediction"] for ln in a[s]], [ln["prediction"] for ln in b[s]],
                                      refs) for s in seeds]
        rows.append({"metric": m, "a": float(np.mean([x["a"] for x in per])),
                     "b": float(np.mean([x["b"] for x in per])),
                     "delta": float(np.mean([x["delta"] for x in per])),
                     "delta_lo": min(x["ci95"][0] for x in per), "delta_hi": max(x["ci95"][1] for x in per),
                     "p": max(x["p"] for x in per), "test": TESTS[m]})
    return rows


def _same_examples(a: dict, b: dict) -> bool:
    ref = [(ln["id"], str(ln["reference"])) for ln in next(iter(a.values()))]
    return all([(ln["id"], str(ln["reference"])) for ln in lines] == ref for side in (a, b) for lines in side.values())


def compare_models(task: str, a_name: str, a: dict, b_name: str, b: dict, metrics: list[str]) -> list[dict]:
    """Rows (one per metric) comparing model A with model B; `a`, `b`: seed -> prediction lines."""
    if not _same_examples(a, b):
        return [{"metric": m, "test": "not paired: the two models were scored on different examples"} for m in metrics]
    rows = (_classification if task == "classification" else _translation)(a, b, metrics)
    n = len([s for s in a if s in b]) if task != "classification" else min(len(a), len(b))
    for row in rows:
        if n > 1:
            row["test"] += f", seed-averaged predictions ({n} seeds)" if task == "classification" \
                else f", per seed pair, largest p ({n} seeds)"
        row["verdict"] = stats.verdict(a_name, b_name, row["delta"], row["p"])
        row["p"] = stats._p(row["p"])
    return [{"model_a": a_name, "model_b": b_name, **row} for row in rows]


def _metrics_of(records: list[dict], task: str) -> list[str]:
    names = dict.fromkeys(k for r in records if r.get("task") == task for k in (r.get("metrics") or {}))
    return [m for m in names if m in TESTS]


def tables(run_dir: Path, records: list[dict], models: tuple[str, str] | None = None) -> list[Table]:
    """One pairwise table per task, data set and split (only `models` when given)."""
    out = []
    for (task, dataset, split), by_model in _groups(Path(run_dir), records).items():
        names = list(by_model)
        pairs = [models] if models else list(combinations(names, 2))
        rows = [row for a, b in pairs if a in by_model and b in by_model
                for row in compare_models(task, a, by_model[a], b, by_model[b], _metrics_of(records, task))]
        if not rows:
            continue
        spec = Spec(f"pairwise_{_safe(task)}_{_safe(split)}", f"Pairwise: {task}, {dataset}, {split}",
                    ("model_a", "model_b"), tuple((c, c) for c in COLUMNS), ())
        out.append(Table(spec, pd.DataFrame(rows, columns=["model_a", "model_b", *COLUMNS])))
    return out


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)


def main_models(run_dir: Path, models: list[str] | None, new: Path | None) -> int:
    """`nlpbench compare RUN --models A B`: the pairwise rows of A against B, per task and split."""
    from nlpbench.errors import BadInput, unknown_name
    from nlpbench.report.tables import display
    from nlpbench.store.results import read_records

    if not models or new is not None:
        raise BadInput("compare: give BASELINE NEW (a regression gate) or RUN --models A B (paired tests), not "
                       + ("NEW and --models together" if models else "a single folder without --models"))
    if not Path(run_dir).is_dir():
        raise BadInput(f"compare: run folder '{run_dir}' does not exist")
    if not (Path(run_dir) / "records.jsonl").is_file():
        raise BadInput(f"compare: run folder '{run_dir}' has no records.jsonl (expected a folder written by `nlpbench run`)")
    records = read_records(Path(run_dir))
    known = list(dict.fromkeys(record_name(r) for r in records if r.get("kind") == "quality"))
    problems = [f"--models: {unknown_name('model', m, known)}" for m in models if m not in known]
    if problems:
        raise BadInput(problems)
    found = tables(Path(run_dir), records, (models[0], models[1]))
    if not found:
        raise BadInput(f"--models: {models[0]} and {models[1]} share no evaluated split with saved predictions")
    print("\n\n".join(f"{t.spec.title}\n{display(t).to_string(index=False)}" for t in found))
    return 0
