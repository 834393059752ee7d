"""Paired tests between the models of one run, on the same examples, read from the saved predictions.

For each task, data set and split, every pair of models (suite order, A before B)
gets, per metric, Δ = A − B with a 95% interval, a p-value and a plain verdict.
Each metric's entry (`nlpbench.metrics`) names its test: McNemar's exact test for
accuracy, a paired bootstrap for macro-F1, sacreBLEU's paired bootstrap for BLEU/chrF.

Multiple comparisons: the verdict rows of one table (every pair × metric) are one
family; `p_holm` is the Holm–Bonferroni adjusted p beside the raw one, and the
verdict is read from `p_holm`.

Seeds: models are paired seed by seed. The verdict row (`seed` = "all k") gives Δ
averaged over the common seeds, its interval and p from a two-level bootstrap
(seeds, then examples: `stats.seed_bootstrap`), so training-seed and test-set
variance are both in it. Per-seed rows (each seed's own test) and, for
classifiers, an `ensemble` row (seed-averaged probabilities) follow it; they are
descriptive: raw p, no verdict, not in the Holm family.

Cost: `params_a`/`params_b` (trained parameters) and, when the run has perf
records, `p50_ratio` = A's p50 latency / B's (geometric mean over the perf cells
both models have, matched on mode, dtype, batch and sequence length).
"""
from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from nlpbench import metrics
from nlpbench.metrics import stats
from nlpbench.quality import predictions
from nlpbench.report.table_base import Spec, Table, record_name
from nlpbench.tasks import TASKS

COLUMNS = ("metric", "seed", "a", "b", "delta", "delta_lo", "delta_hi", "p", "p_holm", "test", "verdict",
           "params_a", "params_b", "p50_ratio")
OPTIONAL = ("seed", "params_a", "params_b", "p50_ratio")  # left out of a table where every row lacks them
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


def _preds(lines: list[dict]) -> list:
    return [ln["prediction"] for ln in lines]


def _test_row(entry, pa: list, pb: list, refs: list, **extra) -> dict:
    t = entry.paired(pa, pb, refs)
    return {"metric": entry.name, "a": entry.score(pa, refs), "b": entry.score(pb, refs), "delta": t["delta"],
            "delta_lo": t["ci95"][0], "delta_hi": t["ci95"][1], "p": t["p"], "test": entry.test, **extra}


def _over_seeds(entry, a: dict, b: dict, seeds: list, refs: list) -> dict:
    """The verdict row over seeds: Δ of the seed means, two-level bootstrap interval and p."""
    rows_a = [entry.rows(_preds(a[s]), refs) for s in seeds]
    rows_b = [entry.rows(_preds(b[s]), refs) for s in seeds]
    t = stats.seed_bootstrap(entry.rescore, rows_a, rows_b, n_boot=N_BOOT, seed=0)
    return {"metric": entry.name, "seed": f"all {len(seeds)}", "a": float(np.mean([entry.rescore(x) for x in rows_a])),
            "b": float(np.mean([entry.rescore(x) for x in rows_b])), "delta": t["delta"], "delta_lo": t["ci95"][0],
            "delta_hi": t["ci95"][1], "p": t["p"], "test": "two-level bootstrap (seeds, then examples)",
            "family": True}


def _metric_rows(task: str, entry, a: dict, b: dict) -> list[dict]:
    """Rows for one metric: the single-seed test, or over seeds + per seed (+ ensemble for classifiers)."""
    seeds = [s for s in a if s in b]
    if not seeds:
        return [{"metric": entry.name, "test": "not paired: no seed in common"}]
    refs = [ln["reference"] for ln in a[seeds[0]]]
    if len(seeds) == 1:
        return [{**_test_row(entry, _preds(a[seeds[0]]), _preds(b[seeds[0]]), refs), "family": True}]
    rows = [_over_seeds(entry, a, b, seeds, refs)]
    rows += [_test_row(entry, _preds(a[s]), _preds(b[s]), refs, seed=str(s)) for s in seeds]
    kind = TASKS.get(task)
    if kind is not None and not kind.generates:  # class ids average over seeds; decoded text does not
        rows.append(_test_row(entry, _consensus(a), _consensus(b), refs, seed="ensemble",
                              test=f"{entry.test} on the seed-averaged ensemble"))
    return rows


def _same_examples(a: dict, b: dict) -> bool:
    ref = [(ln["id"], str(ln["reference"])) for ln in next(iter(a.values()))]
    return all([(ln["id"], str(ln["reference"])) for ln in lines] == ref for side in (a, b) for lines in side.values())


def compare_models(task: str, a_name: str, a: dict, b_name: str, b: dict, names: list[str]) -> list[dict]:
    """Rows comparing model A with model B (`a`, `b`: seed -> prediction lines); verdicts come later, from
    the table's Holm-adjusted p (`with_verdicts`)."""
    if not _same_examples(a, b):
        return [{"model_a": a_name, "model_b": b_name, "metric": m,
                 "test": "not paired: the two models were scored on different examples"} for m in names]
    rows = [row for m in names if metrics.get(m).paired for row in _metric_rows(task, metrics.get(m), a, b)]
    return [{"model_a": a_name, "model_b": b_name, **row} for row in rows]


def with_verdicts(rows: list[dict]) -> list[dict]:
    """Holm–Bonferroni over the table's family (its verdict rows), verdicts from the adjusted p, p as text."""
    family = [i for i, r in enumerate(rows) if r.pop("family", False)]
    for i, adj in zip(family, stats.holm([rows[i]["p"] for i in family])):
        rows[i]["p_holm"] = adj
        rows[i]["verdict"] = stats.verdict(rows[i]["model_a"], rows[i]["model_b"], rows[i]["delta"], adj)
    for r in rows:
        for col in ("p", "p_holm"):
            if col in r:
                r[col] = stats.format_p(r[col])
    return rows


def _metrics_of(records: list[dict], task: str) -> list[str]:
    names = dict.fromkeys(k for r in records if r.get("task") == task for k in (r.get("metrics") or {}))
    return [m for m in names if metrics.get(m).paired]


def _p50s(records: list[dict]) -> dict[str, dict[tuple, float]]:
    """model -> (mode, dtype, batch, seq) -> p50 ms, from the run's ok perf records."""
    out: dict = {}
    for r in records:
        p50 = (r.get("latency_ms") or {}).get("p50")
        if r.get("kind") == "perf" and r.get("status", "ok") == "ok" and isinstance(p50, (int, float)) and p50 > 0:
            key = (r.get("mode"), r.get("dtype"), r.get("batch_size"), r.get("seq_len"))
            out.setdefault(record_name(r), {})[key] = float(p50)
    return out


def _cost(a: str, b: str, n_params: dict, p50s: dict) -> dict:
    shared = [k for k in p50s.get(a, {}) if k in p50s.get(b, {})]
    ratio = math.exp(np.mean([math.log(p50s[a][k] / p50s[b][k]) for k in shared])) if shared else None
    return {"params_a": n_params.get(a), "params_b": n_params.get(b), "p50_ratio": ratio}


def tables(run_dir: Path, records: list[dict], models: tuple[str, str] | None = None) -> list[Table]:
    """One pairwise table per task, data set and split (only `models` when given)."""
    out = []
    p50s = _p50s(records)
    n_params = {record_name(r): r.get("n_params") for r in records if r.get("kind") == "quality"}
    for (task, dataset, split), by_model in _groups(Path(run_dir), records).items():
        pairs = [models] if models else list(combinations(list(by_model), 2))
        rows = [{**row, **_cost(a, b, n_params, p50s)} for a, b in pairs if a in by_model and b in by_model
                for row in compare_models(task, a, by_model[a], b, by_model[b], _metrics_of(records, task))]
        if not rows:
            continue
        df = pd.DataFrame(with_verdicts(rows), columns=["model_a", "model_b", *COLUMNS])
        df = df.drop(columns=[c for c in OPTIONAL if df[c].isna().all()])
        spec = Spec(f"pairwise_{_safe(task)}_{_safe(split)}", f"Pairwise: {task}, {dataset}, {split}",
                    ("model_a", "model_b"), tuple((c, c) for c in df.columns[2:]), ())
        out.append(Table(spec, df))
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
