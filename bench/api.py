"""The Python API: `nlpbench.run`, `nlpbench.load`, `nlpbench.compare` (the CLI is a thin layer over these).

    import nlpbench
    run = nlpbench.run("quick", "perf=null", models=["lstm"], threads=1)
    run.frame("quality")                       # a pandas DataFrame, one row per cell
    nlpbench.compare(run, run).ok              # the regression gate as a value

As lm-evaluation-harness's `simple_evaluate()` and optimum-benchmark's `Benchmark.launch()`: a suite in, a
result object out. Bad input raises `nlpbench.BadInput` (its `.problems` are the lines the CLI prints).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

from nlpbench.errors import BadInput
from nlpbench.gate.verdict import CompareResult as Verdict
from nlpbench.store.records import KINDS
from nlpbench.store.results import read_records

__all__ = ["Run", "Verdict", "compare", "load", "run"]


@dataclass(frozen=True)
class Run:
    """A run folder: its run.json, its records and its tables as DataFrames."""

    dir: Path
    exit_code: int | None = None  # set by `run`: 0 ok, 1 a required model failed, 130 interrupted

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.dir / "run.json").read_text(encoding="utf-8"))

    @property
    def status(self) -> str | None:
        return self.meta.get("status")

    @property
    def records(self) -> list[dict]:
        """The latest record of each cell, in file order."""
        return read_records(self.dir)

    def frame(self, kind: str = "quality") -> pd.DataFrame:
        """One row per record of `kind` (quality, perf, serve, variant, ...), nested fields flattened to
        dotted columns (`metrics.accuracy`, `latency_ms.p50`); or `pairwise`: the paired-test rows of the
        report's pairwise tables (model_a, model_b, metric, seed, delta, interval, p, p_holm, verdict, cost
        columns; `table` names the task and split)."""
        if kind == "pairwise":
            from nlpbench.report import pairwise

            frames = [t.frame.assign(table=t.spec.name) for t in pairwise.tables(self.dir, self.records)]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        rows = [r for r in self.records if r.get("kind") == kind]
        known = sorted({str(r.get("kind")) for r in self.records} | set(KINDS) | {"pairwise"})
        if not rows and kind not in known:
            raise BadInput(f"frame: no '{kind}' records in {self.dir}; kinds here: {', '.join(known)}")
        return pd.json_normalize(rows, max_level=1) if rows else pd.DataFrame()

    def __repr__(self) -> str:
        return f"Run('{self.dir}', status={self.status!r}, records={len(self.records)})"


def run(suite: str | Path | dict, *overrides: str, models=None, tasks=None, out=None, resume=None, data_dir=None,
        progress: bool = False, **options) -> Run:  # fmt: skip
    """Runs a suite — a shipped name (`quick`), a YAML path, or a dict — and returns its `Run`.

    `overrides` are the CLI's `KEY=VALUE` strings; `options` are top-level suite keys given as Python values
    (`threads=1`, `seeds=[0, 1]`, `perf=None`). `models`/`tasks`: labels (a list or "a,b"). Results go to
    `out` (default ./results/runs)."""
    from nlpbench.commands.run import run_suite

    tmp = None
    if isinstance(suite, dict):  # a suite built in code: written beside its results, so run.json can point at it
        tmp = Path(out or Path.cwd() / "results" / "runs") / f".{suite.get('name', 'suite')}.yaml"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
        suite = tmp
    extra = [f"{k}={json.dumps(v)}" for k, v in options.items()]  # JSON is YAML: None -> null, lists, strings
    try:
        run_dir, code = run_suite(str(suite), [*overrides, *extra], out=out, resume=resume, data_dir=data_dir,
                                  progress=progress, tasks=_names(tasks), models=_names(models))  # fmt: skip
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return Run(Path(run_dir), code)


def _names(arg) -> list[str] | None:
    from nlpbench.suite.selection import names

    return names(arg) if arg is None or isinstance(arg, str) else [str(a) for a in arg] or None


def load(run_dir: str | Path) -> Run:
    """A finished (or interrupted) run folder, from this or an older nlpbench version."""
    path = Path(run_dir)
    if not (path / "run.json").is_file():
        raise BadInput(f"load: {path} is not a run folder (no run.json)")
    return Run(path)


def compare(baseline: str | Path | Run, new: str | Path | Run, *, allow_missing: bool = False, force: bool = False,
            rule: str = "auto", min_effect: dict[str, float] | None = None, fail_on_inconclusive: bool = False,
            **tolerances: float) -> Verdict:  # fmt: skip
    """The regression gate as a value: `.ok`, `.regressions`, `.inconclusive`, `.warnings`, `.exit_code`,
    `.table()` (each delta's `verdict`: regression, ok/same, improved, inconclusive; its `rule`). `baseline`
    is a run folder, a Run or a baseline JSON; tolerances as `nlpbench compare --tolerance` (`accuracy=0.01`,
    `latency=0.2`; a non-finite one is BadInput); `force` compares cells that measured different things
    (suite, data) with a warning, as `--force`; `rule`, `min_effect`, `fail_on_inconclusive` as `--rule`,
    `--min-effect`, `--fail-on-inconclusive`. Nothing in common raises BadInput."""
    from nlpbench.gate.compare import compare as gate

    as_path = [x.dir if isinstance(x, Run) else Path(x) for x in (baseline, new)]
    verdict = gate(*as_path, {k: abs(float(v)) for k, v in tolerances.items()}, force=force, rule=rule,
                   min_effect={k: abs(float(v)) for k, v in (min_effect or {}).items()})
    verdict.allow_missing = allow_missing
    verdict.fail_on_inconclusive = fail_on_inconclusive
    return verdict
