"""Report tables: pandas frames built from records, one run or several side by side.

A table's frame holds raw numbers (what the CSV files hold); `display` makes the
rounded strings and "0.853 [0.831, 0.874]" cells for markdown, HTML and the console.
Several runs give one column group per run (its label) joined on the row keys,
plus ratio groups (run / first run) for the main numbers.
"""
from __future__ import annotations

import math
import re

import pandas as pd

from nlpbench import metrics
from nlpbench.report import seed_tables
from nlpbench.report.table_base import Spec, Table, key_value, lookup
from nlpbench.tasks import TASKS

RATIO = "ratio: "  # prefix of a ratio column group's label


QUALITY_KEYS = ("model", "dataset", "split")  # a quality cell is scored on each evaluation split
_QUALITY_TAIL = (("picks_checkpoint", "picks_checkpoint"), ("n_params", "n_params"), ("train_s", "train_s"))


def quality_spec(task: str, records: list[dict]) -> Spec:
    """A task's quality table: each metric its records carry (registered ones with their interval ends and the
    keys their entry shows beside them), then training cost; a decoding task shows decode speed and beam."""
    names = dict.fromkeys(k for r in records for k, v in (r.get("metrics") or {}).items()
                          if k in metrics.registry() or (isinstance(v, (int, float)) and not isinstance(v, bool)))
    cols: list[tuple[str, str]] = []
    for n in names:
        cols.append((n, f"metrics.{n}"))
        if n in metrics.registry():
            cols += [(f"{n}_lo", f"metrics.{n}_ci95.0"), (f"{n}_hi", f"metrics.{n}_ci95.1")]
    cols += [(k, f"metrics.{k}") for n in names for k in metrics.get(n).shown]
    kind = TASKS.get(task)
    speed = "decode_sentences_per_s" if kind and kind.generates else "eval_examples_per_s"
    tail = ((("train_examples_per_s", "train_examples_per_s"),) if not (kind and kind.generates) else ()) + \
        ((speed, "eval_examples_per_s"),) + ((("beam_size", "params.beam_size"),) if kind and kind.generates else ())
    return Spec(f"quality_{task}", f"Quality: {task}", QUALITY_KEYS,
                (*cols, *_QUALITY_TAIL, *tail, ("init", "init"), ("status", "status")), (*names, "train_s", speed))


PERF = Spec(
    "perf", "Performance", ("model", "mode", "dtype", "batch_size", "seq_len"),
    (("p50_ms", "latency_ms.p50"), ("p90_ms", "latency_ms.p90"), ("samples_per_s", "throughput.samples_per_s"),
     ("tokens_per_s", "throughput.tokens_per_s"), ("peak_memory_mb", "peak_memory_mb"),
     ("memory_kind", "memory_kind"), ("achieved_gflops", "achieved_gflops"), ("noisy", "noisy"),
     ("status", "status")),
    ("p50_ms", "samples_per_s", "tokens_per_s", "peak_memory_mb"))
GENERATION = Spec(
    "generation", "Generation", ("model", "dtype", "batch_size", "seq_len"),
    (("ttft_ms", "time_to_first_token_ms"), ("per_token_ms", "per_token_ms"),
     ("tokens_per_s", "throughput.tokens_per_s"), ("p50_ms", "latency_ms.p50"), ("status", "status")),
    ("ttft_ms", "per_token_ms", "tokens_per_s"))


def frame(spec: Spec, records: list[dict]) -> pd.DataFrame:
    """A table of raw numbers: one row per record, the spec's columns read by dotted path (all-empty ones dropped)."""
    rows = [{**{k: key_value(r, k) for k in spec.keys}, **{col: lookup(r, path) for col, path in spec.columns}}
            for r in records]
    df = pd.DataFrame(rows, columns=[*spec.keys, *(c for c, _ in spec.columns)])
    keep = [c for c in df.columns if c in spec.keys or c == "status" or df[c].notna().any()]
    df = df[keep]
    return df.iloc[_row_order(df[list(spec.keys)], spec)].reset_index(drop=True)


def _row_order(keys: pd.DataFrame, spec: Spec) -> list[int]:
    """Quality rows in suite order; perf rows by model (suite order), mode, then the grid."""
    if spec.name not in ("perf", "generation"):
        return list(range(len(keys)))
    models = {m: i for i, m in enumerate(dict.fromkeys(keys["model"]))}
    ordered = keys.reset_index(drop=True).sort_values(
        list(spec.keys), kind="stable", key=lambda col: _sort_key(col, models))
    return list(ordered.index)


def _sort_key(col: pd.Series, models: dict) -> pd.Series:
    if col.name == "model":
        return col.map(models)
    if col.name == "mode":
        return col.map(lambda v: {"forward": 0, "train_step": 1, "generate": 2}.get(v, 3))
    return col.map(str) if col.dtype == object else col


def build_tables(records: list[dict], extra: tuple = ()) -> list[Table]:
    """The tables of one run: quality per task, then perf and generation (empty ones left out), then those
    each function in `extra` (records -> tables) makes, e.g. the deployment tables of nlpbench.variants."""
    quality = [r for r in records if r.get("kind") == "quality"]
    perf = [r for r in records if r.get("kind") == "perf"]
    tables = []
    for task in dict.fromkeys(str(r.get("task")) for r in quality):
        of_task = [r for r in quality if str(r.get("task")) == task]
        spec = quality_spec(task, of_task)
        if seed_tables.seeded(of_task):  # one row per seed, then mean ± sd over seeds
            rows = seed_tables.per_seed(spec)
            tables += [Table(rows, frame(rows, of_task)), seed_tables.summary(spec, of_task)]
            continue
        tables.append(Table(spec, frame(spec, of_task)))
    if perf:
        tables.append(Table(PERF, frame(PERF, perf)))
    generate = [r for r in perf if r.get("mode") == "generate"]
    if generate:
        tables.append(Table(GENERATION, frame(GENERATION, generate)))
    return tables + [t for make in extra for t in make(records)]


def side_by_side(runs: dict[str, list[dict]], extra: tuple = ()) -> list[Table]:
    """Each table with one column group per run (label -> records, first is the
    reference), joined on the row keys, plus ratio groups (run / first run) for
    the spec's main numbers."""
    per_run = {label: {t.spec.name: t for t in build_tables(recs, extra)} for label, recs in runs.items()}
    names = dict.fromkeys(n for tables in per_run.values() for n in tables)
    first = next(iter(runs))
    out = []
    for name in names:
        spec = next(t[name].spec for t in per_run.values() if name in t)
        frames = {label: t[name].frame.fillna({k: "" for k in spec.keys})
                  .drop_duplicates(list(spec.keys), keep="last").set_index(list(spec.keys))
                  for label, t in per_run.items() if name in t}
        order = list(dict.fromkeys(i for f in frames.values() for i in f.index))
        merged = pd.concat(frames, axis=1).reindex(order)
        merged = merged.iloc[_row_order(merged.index.to_frame(index=False), spec)]
        for label in list(per_run)[1:]:
            for col in spec.main:
                if (label, col) in merged and (first, col) in merged:
                    new, old = merged[(label, col)].astype(float), merged[(first, col)].astype(float)
                    merged[(f"{RATIO}{label} / {first}", col)] = new / old.where(old != 0)
        merged.index.names = list(spec.keys)
        merged = merged.reset_index()
        merged.columns = pd.MultiIndex.from_tuples([c if c[1] else ("", c[0]) for c in merged.columns])
        out.append(Table(spec, merged))
    return out


# ---------------------------------------------------------------- display


PRETTY = {  # registered metrics add "<label> [95% CI]" (`_pretty`)
    "n_params": "params", "train_s": "train s",
    "train_examples_per_s": "train ex/s", "eval_examples_per_s": "eval ex/s",
    "bleu_signature": "signature", "decode_sentences_per_s": "decode sent/s", "beam_size": "beam",
    "batch_size": "batch", "seq_len": "seq", "p50_ms": "p50 ms", "p90_ms": "p90 ms", "samples_per_s": "samples/s",
    "tokens_per_s": "tokens/s", "peak_memory_mb": "peak MB", "memory_kind": "memory", "achieved_gflops": "GFLOP/s",
    "ttft_ms": "TTFT ms", "per_token_ms": "ms/token",
    "quality": "quality [95% CI]", "delta": "Δ [95% CI]", "speedup": "speed-up", "size_mb": "size MB",
    "model_rss_mb": "RSS MB",
    "picks_checkpoint": "selects checkpoint", "model_a": "A", "model_b": "B", "a": "value A", "b": "value B",
    "p_holm": "p (Holm)", "params_a": "params A", "params_b": "params B", "p50_ratio": "p50 A/B",
}


def _pretty(col: str, ratio: bool = False) -> str:
    """A column's title: a registered metric's label (with "[95% CI]" where its interval is shown)."""
    if col in metrics.registry():
        return metrics.get(col).label + ("" if ratio else " [95% CI]")
    return PRETTY.get(col, col)


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (bool, str)):
        return str(x)
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    a = abs(x)
    return f"{x:.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def _human(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return str(int(x))


def _display_group(df: pd.DataFrame, ratio: bool) -> pd.DataFrame:
    """One run's columns as display strings (or a ratio group's as `1.23×`)."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        if col.endswith(("_lo", "_hi")) and col[:-3] in df or col.endswith("_sd") and f"{col[:-3]}_mean" in df:
            continue
        values = df[col]
        if not ratio and (seed_cells := seed_tables.display_cells(df, col)) is not None:
            base = col[: -len("_mean")]
            out[f"{_pretty(base, ratio=True)} (mean ± sd)"] = seed_cells
            continue
        if ratio:
            cells = values.map(lambda v: "" if pd.isna(v) else f"{v:.2f}×")
        elif col == "noisy":
            cells = values.map(lambda v: "noisy" if v is True else "")
        elif col == "picks_checkpoint":  # the selection split's score is optimistic: say so where it is shown
            cells = values.map(lambda v: "yes" if v is True else "")
        elif col in ("n_params", "params_a", "params_b"):
            cells = values.map(_human)
        elif col == "p50_ratio":
            cells = values.map(lambda v: "" if pd.isna(v) else f"{v:.2f}×")
        elif "metric" in df and col in ("a", "b", "delta"):  # a pairwise table: each row in its metric's format
            lo, hi = (df[f"{col}_lo"], df[f"{col}_hi"]) if f"{col}_lo" in df else ([math.nan] * len(df),) * 2
            cells = [_with_ci(v, lo_, hi_, metrics.get(m)) for v, lo_, hi_, m in zip(values, lo, hi, df["metric"])]
        elif f"{col}_lo" in df and f"{col}_hi" in df:
            cells = [_with_ci(a, lo, hi, metrics.get(col)) for a, lo, hi in zip(values, df[f"{col}_lo"], df[f"{col}_hi"])]
        else:
            cells = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                               else v if isinstance(v, str) else _num(v))
        out[_pretty(col, ratio)] = list(cells)
    return out


def _with_ci(value, lo, hi, entry: metrics.Metric | None = None) -> str:
    """'0.853 [0.831, 0.874]'; a metric's own decimals (rates 3, BLEU/chrF on 0-100 one), else by size."""
    if value is None or pd.isna(value):
        return ""
    places = entry.decimals if entry is not None and entry.name in metrics.registry() else 3 if abs(value) <= 1 else 1
    fmt = f".{places}f"
    return f"{value:{fmt}}" if pd.isna(lo) or pd.isna(hi) else f"{value:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def display(table: Table) -> pd.DataFrame:
    """Strings for markdown/HTML/console; side-by-side tables keep their two header levels."""
    df = table.frame
    if not isinstance(df.columns, pd.MultiIndex):
        return _display_group(df, ratio=False)
    parts = {}
    for group in dict.fromkeys(df.columns.get_level_values(0)):
        sub = df[group]
        parts[group] = _display_group(sub, group.startswith(RATIO)) if group else \
            sub.astype(str).rename(columns=_pretty)
    return pd.concat(parts, axis=1)


NUMBER = re.compile(r"^[-+]?[\d.]+(e[-+]?\d+)?[×kMB]?( \[.*\])?$")  # 0.853 [0.83, 0.87], 1.2M, 0.50×


def to_markdown(df: pd.DataFrame) -> str:
    """Display strings kept as they are (tabulate would turn 0.800 into 0.8); number columns right-aligned."""
    df = flat(df).astype(str)
    align = ["right" if (col := df[c][df[c] != ""]).size and col.str.match(NUMBER).all() else "left"
             for c in df.columns]
    return df.to_markdown(index=False, disable_numparse=True, colalign=align)


def flat(df: pd.DataFrame) -> pd.DataFrame:
    """`run: column` headers for CSV and markdown."""
    if isinstance(df.columns, pd.MultiIndex):
        df = df.copy()
        df.columns = [f"{g}: {c}" if g else c for g, c in df.columns]
    return df


