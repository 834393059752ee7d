"""The report's `tune` section: curves, crossings, best-of-budget, time-to-target, chosen configs, verdicts.

Per task and space (nlpbench.tune.study's records: `tune_role` trial, default, confirm):

- `tune_curves_<task>_<space>.csv` + `plots/tune_<task>_<space>.png`: expected best validation score vs
  trials (nlpbench.tune.curves, without replacement; the with-replacement variant in the CSV) with a 95%
  bootstrap band, one curve per architecture, and vs the wall time the n trials took (n × mean trial wall_s);
- crossings: P(A > B) at each n for every pair whose curves cross (or at n = 1 and N when they don't);
- best-of-budget: the N trials split into S studies of N/S (AlgoPerf), the median and IQR of each study's
  best, beside the untuned suite config trained at the same budget (`<model>.default`);
- time-to-target: per study the fastest trial to reach the target on its validation curve (minutes, GFLOPs),
  the median over studies; the target is the suite's `tune.target`, else the median best validation score;
- chosen configs: each architecture's best trial as a model entry to paste into a suite (`tune_configs.yaml`);
- confirmation: the best configs rerun over fresh seeds, paired tests on test with Holm (nlpbench.report.pairwise),
  and a verdict row per pair that "holds" only when every space gives the same significant verdict.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from nlpbench.report import pairwise
from nlpbench.report.table_base import Spec, Table
from nlpbench.tune import curves

TITLES = {"tune": "Tune: expected best validation score vs trials and vs wall time"}


def is_tune(rec: dict) -> bool:
    return bool(rec.get("tune_role"))


def _select(rec: dict) -> float | None:
    """The validation score a trial was selected on: the first metric of its record (the task's selection
    metric comes first unless a suite reorders `metrics`; the journal holds the exact one)."""
    m = rec.get("metrics") or {}
    sel = (rec.get("fit") or {}).get("best_score")
    return float(sel) if isinstance(sel, (int, float)) else next((v for v in m.values() if isinstance(v, (int, float))), None)


def _table(name: str, title: str, df: pd.DataFrame) -> Table | None:
    if df.empty:  # e.g. crossings with one architecture
        return None
    return Table(Spec(name, title, (df.columns[0],), tuple((c, c) for c in df.columns), ()), df.reset_index(drop=True))


def groups(records: list[dict]) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """(task, space) -> model -> its ok trial records on validation, in trial order."""
    out: dict = {}
    for r in records:
        if r.get("tune_role") == "trial" and r.get("split") == "validation" and r.get("status", "ok") == "ok":
            out.setdefault((r["tune_task"], r["space"]), {}).setdefault(r["tune_model"], []).append(r)
    return {k: {m: sorted(v, key=lambda r: r["trial"]) for m, v in g.items()} for k, g in out.items()}


def curve_frame(by_model: dict[str, list[dict]]) -> pd.DataFrame:
    rows = []
    for model, recs in by_model.items():
        v = [_select(r) for r in recs]
        lo, hi = curves.band(v, seed=0)
        wall = float(np.mean([r.get("wall_s") or 0.0 for r in recs]))
        budget = recs[0].get("budget") or {}
        for n, (e, er, a, b) in enumerate(zip(curves.curve(v), curves.curve(v, replace=True), lo, hi), start=1):
            rows.append({"model": model, "n": n, "expected_max": e, "lo": a, "hi": b, "expected_max_with_replacement": er,
                         "wall_min": n * wall / 60, **{f"budget_{k}": n * float(x) for k, x in budget.items()}})
    return pd.DataFrame(rows)


def crossing_frame(by_model: dict[str, list[dict]]) -> pd.DataFrame:
    rows, models = [], list(by_model)
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            va, vb = [_select(r) for r in by_model[a]], [_select(r) for r in by_model[b]]
            N = min(len(va), len(vb))
            ea, eb = curves.curve(va)[:N], curves.curve(vb)[:N]
            cross = curves.crossings(ea, eb)
            budget = by_model[a][0].get("budget") or {}
            for n in sorted({1, N, *cross}):
                rows.append({"model_a": a, "model_b": b, "n": n, **{f"budget_{k}": n * float(x) for k, x in budget.items()},
                             "expected_a": ea[n - 1], "expected_b": eb[n - 1],
                             "p_a_beats_b": curves.p_beats(va, vb, n), "curves_cross_here": n in cross})
    return pd.DataFrame(rows)


def best_of_budget(by_model: dict[str, list[dict]], defaults: dict[str, float]) -> pd.DataFrame:
    rows = []
    for model, recs in by_model.items():
        best = {}
        for r in recs:
            s = r.get("study") or 0
            best[s] = max(best.get(s, -np.inf), _select(r))
        b = np.array(list(best.values()))
        rows.append({"model": model, "studies": len(b), "trials_per_study": round(len(recs) / max(len(b), 1), 2),
                     "median_best": float(np.median(b)), "iqr_lo": float(np.percentile(b, 25)),
                     "iqr_hi": float(np.percentile(b, 75)), "best": float(b.max()), "untuned": defaults.get(model),
                     # trials a safety cap (max_minutes) stopped before their budget was spent: not equal budgets
                     "cut_by_clock": sum((r.get("fit") or {}).get("stopped") == "time" for r in recs),
                     # stopped early by tune.pruner: their scores pull the expected-max curve down
                     "pruned": sum((r.get("fit") or {}).get("stopped") == "pruned" for r in recs)})
    return pd.DataFrame(rows)


def _reached(rec: dict, target: float) -> tuple[float, float] | None:
    for h in (rec.get("fit") or {}).get("history") or []:
        if h.get("score") is not None and h["score"] >= target:
            return float(h.get("minutes") or 0.0), float(h.get("flops") or 0.0) / 1e9
    return None


def time_to_target(by_model: dict[str, list[dict]], target: float | None) -> pd.DataFrame:
    if target is None:
        target = float(np.median([max(_select(r) for r in recs) for recs in by_model.values()]))
    rows = []
    for model, recs in by_model.items():
        per_study: dict = {}
        for r in recs:
            hit = _reached(r, target)
            if hit is not None:
                s = r.get("study") or 0
                per_study[s] = min(per_study.get(s, (np.inf, np.inf)), hit)
        studies = len({r.get("study") or 0 for r in recs})
        hits = list(per_study.values())
        rows.append({"model": model, "target": target, "studies_reached": f"{len(hits)}/{studies}",
                     "median_minutes": float(np.median([h[0] for h in hits])) if hits else None,
                     "median_gflops": float(np.median([h[1] for h in hits])) if hits else None})
    return pd.DataFrame(rows)


def chosen_configs(records: list[dict], entries: dict) -> dict[str, dict]:
    """'<task>/<space>/<model>' -> the best trial's model entry (suite entry with the tuned keys set)."""
    from nlpbench.tune.space import apply

    out = {}
    for (task, sp), by_model in groups(records).items():
        for model, recs in by_model.items():
            best = max(recs, key=lambda r: (_select(r), -r["trial"]))
            base = entries.get((task, model), {"adapter": best.get("model"), "name": model})
            out[f"{task}/{sp}/{model}"] = {**apply(base, best["tune_params"]), "_trial": best["trial"],
                                            "_validation": _select(best)}
    return out


def _entries(run_dir: Path) -> tuple[dict, dict]:
    """From run.json: (task label, model label) -> the suite's model entry; task label -> its tune settings."""
    try:
        config = json.loads((Path(run_dir) / "run.json").read_text()).get("config") or {}
    except (OSError, ValueError):
        return {}, {}
    entries, tunes = {}, {}
    for t in config.get("tasks") or []:
        label = t.get("name") or t.get("task")
        tunes[label] = t.get("tune") or {}
        for m in t.get("models") or []:
            entries[(label, m.get("name") or m.get("adapter"))] = {k: v for k, v in m.items() if k != "tune" and v not in (None, {}, False)}
    return entries, tunes


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)


def verdict_tables(run_dir: Path, records: list[dict]) -> list[Table]:
    """Per task and space: the confirmation reruns' paired tests on test (Holm within the table); then per task
    one row per pair: the verdict in each space and whether it holds in all of them."""
    conf = [r for r in records if r.get("tune_role") == "confirm" and r.get("split") == "test"]
    out, verdicts = [], {}
    for task in dict.fromkeys(r["tune_task"] for r in conf):
        for sp in dict.fromkeys(r["space"] for r in conf if r["tune_task"] == task):
            mine = [{**r, "name": r["tune_model"]} for r in conf if r["tune_task"] == task and r["space"] == sp]
            for t in pairwise.tables(run_dir, mine):
                key = f"tune_confirm_{_safe(task)}_{_safe(sp)}"
                out.append(Table(Spec(key, f"Tune: tuned vs tuned on test, {task}, space {sp} "
                                      f"(best configs over fresh seeds)", *_rest(t.spec)), t.frame))
                for row in t.frame.to_dict("records"):
                    if isinstance(row.get("verdict"), str):
                        verdicts.setdefault((task, row["model_a"], row["model_b"], row["metric"]), {})[sp] = row["verdict"]
    rows: dict[str, list] = {}
    for (task, a, b, metric), by_space in verdicts.items():
        texts = [re.sub(r"\s*[(,]\s*p\b.*$", "", v) for v in by_space.values()]  # the verdict without its p
        holds = len(set(texts)) == 1 and not texts[0].startswith("no detectable")
        rows.setdefault(task, []).append({"pair": f"{a} vs {b}", "metric": metric,
                                          **{f"space {s}": v for s, v in by_space.items()},
                                          "verdict": texts[0] if len(set(texts)) == 1 else "differs between spaces",
                                          "holds": holds})
    for task, task_rows in rows.items():
        out.append(_table(f"tune_verdict_{_safe(task)}", f"Tune: {task}, verdict after equal tuning (holds: "
                          "significant after Holm, and the same in every space)", pd.DataFrame(task_rows)))
    return out


def _rest(spec: Spec) -> tuple:
    return spec.keys, spec.columns, spec.main


def tables(run_dir: Path, records: list[dict]) -> list[Table]:
    """Every tune table of a run folder (none without tune records)."""
    entries, tunes = _entries(run_dir)
    defaults = {}
    for r in records:
        if r.get("tune_role") == "default" and r.get("split") == "validation" and r.get("status", "ok") == "ok":
            cut = " (cut by max_minutes)" if (r.get("fit") or {}).get("stopped") == "time" else ""
            defaults[(r["tune_task"], r["tune_model"])] = f"{_select(r):.4g}{cut}" if cut else _select(r)
    out = []
    for (task, sp), by_model in groups(records).items():
        tag, where = f"{_safe(task)}_{_safe(sp)}", f"{task}, space {sp}"
        mine = {m: v for (t, m), v in defaults.items() if t == task}
        out.append(_table(f"tune_best_of_budget_{tag}", f"Tune: best of budget (S studies × N/S trials), {where}",
                          best_of_budget(by_model, mine)))
        out.append(_table(f"tune_crossings_{tag}", f"Tune: P(best of n of A > best of n of B), {where}",
                          crossing_frame(by_model)))
        out.append(_table(f"tune_time_to_target_{tag}", f"Tune: time to target on validation (median over studies), {where}",
                          time_to_target(by_model, (tunes.get(task) or {}).get("target"))))
        out.append(_table(f"tune_curves_{tag}", f"Tune: expected best validation score after n trials (without "
                          f"replacement, 95% bootstrap band), {where}", curve_frame(by_model)))
    configs = chosen_configs(records, entries)
    if configs:
        rows = [{"arm": k, "trial": v.pop("_trial"), "validation": v.pop("_validation"),
                 "entry": yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()} for k, v in configs.items()]
        out.append(_table("tune_configs", "Tune: chosen configs (paste an entry under a task's models:)", pd.DataFrame(rows)))
    return [t for t in out if t is not None] + verdict_tables(run_dir, records)


def pictures(records: list[dict], folder: Path) -> dict[str, Path]:
    """plots/tune_<task>_<space>.png: expected max vs n trials and vs wall minutes, one curve per architecture."""
    import matplotlib.pyplot as plt

    out = {}
    for (task, sp), by_model in groups(records).items():
        df = curve_frame(by_model)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
        for model, c in df.groupby("model", sort=False):
            for ax, x in zip(axes, ("n", "wall_min")):
                line = ax.plot(c[x], c["expected_max"], marker="o", label=model)[0]
                ax.fill_between(c[x], c["lo"], c["hi"], alpha=0.15, color=line.get_color())
        axes[0].set_xlabel("trials n")
        axes[0].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        axes[1].set_xlabel("wall minutes spent (n × mean trial wall time)")
        for ax in axes:
            ax.set_ylabel("expected best validation score")
            ax.grid(alpha=0.3)
        axes[0].legend()
        fig.suptitle(f"{task}, space {sp}: expected best of n trials (equal budget each; 95% bootstrap band)")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"tune_{_safe(task)}_{_safe(sp)}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        name = f"tune_{_safe(task)}_{_safe(sp)}"
        TITLES[name] = f"Tune: {task}, space {sp}"
        out[name] = path
    return out


def write_configs(records: list[dict], run_dir: Path, out: Path) -> None:
    configs = chosen_configs(records, _entries(run_dir)[0])
    if configs:
        text = "# the best trial of each architecture on validation, as model entries (nlpbench tune stage)\n"
        (out / "tune_configs.yaml").write_text(text + yaml.safe_dump(configs, sort_keys=False), encoding="utf-8")
