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
import os
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from nlpbench.errors import BadInput, did_you_mean, shown
from nlpbench.gate.verdict import CompareResult as Verdict
from nlpbench.store.records import KINDS
from nlpbench.store.results import read_records
from nlpbench.suite.overrides import apply_overrides

__all__ = ["Interrupted", "Run", "Verdict", "compare", "load", "run"]


@dataclass(frozen=True)
class Run:
    """A run folder: its run.json, its records and its tables as DataFrames."""

    dir: Path
    exit_code: int | None = None  # set by `run`: 0 ok, 1 a required model failed, 130 interrupted

    @cached_property
    def meta(self) -> dict:
        """run.json as every command reads it: `running` with no live writer is `interrupted`."""
        from nlpbench.store.lock import as_read

        return as_read(json.loads((self.dir / "run.json").read_text(encoding="utf-8")), self.dir)

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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM/SIGHUP) inside `nlpbench.run`, raised once run.json says `interrupted` and the
    finished cells are kept: a sweep loop stops, and `.run` is the folder to resume
    (`nlpbench.run(suite, resume=e.run.dir)`)."""

    def __init__(self, run: Run):
        super().__init__(f"interrupted: finished cells kept in {run.dir}")
        self.run = run


def run(suite: str | Path | dict, *overrides: str, models=None, tasks=None, out=None, resume=None, data_dir=None,
        progress: bool = False, adapters: dict | None = None, metrics: dict | None = None, allow_large: bool = False,
        **options) -> Run:  # fmt: skip
    """Runs a suite — a shipped name (`quick`), a YAML path, or a dict — and returns its `Run`.

    `overrides` are the CLI's `KEY=VALUE` strings; `options` are top-level suite keys given as Python values
    (`threads=1`, `seeds=[0, 1]`, `perf=None`). `models`/`tasks`: labels (a list or "a,b"). Results go to
    `out` (default ./results/runs); nothing is written before the suite and every argument are checked, and
    nothing outside `out` (or the `resume` folder). `adapters={"mine": MyAdapter}` and
    `metrics={"mine": fn}` hand over a class and a function from the caller's code (nlpbench.plugins); a suite
    then names them as `adapter: mine` and `metrics: [mine]`. Ctrl-C raises `Interrupted` (a
    KeyboardInterrupt) once the finished cells are recorded; the caller's torch thread settings are restored
    on every way out. The plan and its time estimate are logged first; `allow_large` starts one above the
    sanity limits (nlpbench.suite.plan), as `--allow-large`."""
    from nlpbench import plugins
    from nlpbench.commands.run import run_suite

    raw, names = _arguments(suite, overrides, dict(models=models, tasks=tasks), out, resume, data_dir, options)
    if problems := plugins.problems(adapters, metrics, raw):
        raise BadInput(problems)
    plugins.register(adapters, metrics)
    with _torch_settings_kept():
        run_dir, code = run_suite(raw, out=out, resume=resume, data_dir=data_dir, progress=progress,
                                  allow_large=bool(allow_large), **names)  # fmt: skip
    result = Run(Path(run_dir), code)
    if code == 130:
        raise Interrupted(result)
    return result


def _arguments(suite, overrides, names: dict, out, resume, data_dir, options: dict) -> tuple[dict, dict]:
    """(the suite as a raw mapping, overrides and options applied; the --models/--tasks lists): every bad
    argument in one BadInput, before anything is written."""
    from nlpbench.suite.plain import plain
    from nlpbench.suite.schema import Suite, read_suite

    problems = [f"overrides: KEY=VALUE strings; given {shown(o)}" for o in overrides if not isinstance(o, str)]
    selection = {}
    for key, arg in names.items():
        try:
            selection[key] = _names(arg)
        except TypeError:
            problems.append(f"{key}: a label, 'a,b' or a list of labels; given {shown(arg)}")
    for key, path in {"out": out, "resume": resume, "data_dir": data_dir}.items():
        if path is not None and not isinstance(path, (str, os.PathLike)):
            problems.append(f"{key}: a path; given {shown(path)}")
    if isinstance(out, (str, os.PathLike)):
        problems += _out_problems(Path(out))
    known = set(Suite.model_fields)
    for key in options:
        if key not in known:
            hint = did_you_mean(key, [*known, "models", "tasks", "out", "resume", "data_dir", "progress", "adapters",
                                      "metrics", "allow_large"])  # fmt: skip
            problems.append(f"{key}={shown(options[key])}: not a suite key{hint or ' — keys: ' + ', '.join(sorted(known))}")
    options, bad = plain({k: v for k, v in options.items() if k in known})
    problems += bad
    raw = {}
    if isinstance(suite, dict):
        raw, bad = plain(suite)
        problems += bad
    elif not isinstance(suite, (str, os.PathLike)):
        problems.append(f"suite: a shipped name, a YAML path or a dict; given {shown(suite)}")
    if problems:
        raise BadInput(problems)
    strings = list(overrides)
    raw = apply_overrides(raw, strings) if isinstance(suite, dict) else read_suite(os.fspath(suite), strings)
    return {**raw, **options}, selection


def _out_problems(out: Path) -> list[str]:
    """`out` must be (or become) a folder: a file there, or a file on the way to it, is one line."""
    for p in (out, *out.parents):
        if p.exists():
            return [] if p.is_dir() else [f"out: {p} is a file; give a folder (the run folder goes inside it)"]
    return []


@contextmanager
def _torch_settings_kept():
    """The caller's torch intra-op and inter-op thread counts, back on every way out (a suite's `threads`
    sets them for the run). Inter-op threads can be set once only, before any inter-op work: when the run
    changed them and torch refuses to change them back, that is left as it is. The caller's random streams
    (random, numpy's global one, torch's CPU generator), which every unit reseeds, come back too."""
    import random

    import numpy as np

    threads, interop = torch.get_num_threads(), torch.get_num_interop_threads()
    streams = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        if torch.get_num_interop_threads() != interop:
            with suppress(RuntimeError):
                torch.set_num_interop_threads(interop)
        random.setstate(streams[0]), np.random.set_state(streams[1]), torch.set_rng_state(streams[2])


def _names(arg) -> list[str] | None:
    """None, 'a,b' or a list of labels -> a list of labels or None (everything); TypeError otherwise."""
    from nlpbench.suite.selection import names

    if arg is None or isinstance(arg, str):
        return names(arg)
    if not isinstance(arg, (list, tuple)) or not all(isinstance(a, str) for a in arg):
        raise TypeError(arg)
    return list(arg) or None


def load(run_dir: str | Path) -> Run:
    """A finished (or interrupted) run folder, from this or an older nlpbench version."""
    if not isinstance(run_dir, (str, os.PathLike)):
        raise BadInput(f"load: a run folder's path; given {shown(run_dir)}")
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

    problems = [f"compare: {what}: a run folder, a Run or a baseline JSON; given {shown(x)}"
                for what, x in (("baseline", baseline), ("new", new)) if not isinstance(x, (str, os.PathLike, Run))]
    problems += [f"compare: {k}={shown(v)}: a tolerance is a number" for k, v in tolerances.items()
                 if isinstance(v, bool) or not isinstance(v, (int, float))]  # fmt: skip
    if problems:
        raise BadInput(problems)
    as_path = [x.dir if isinstance(x, Run) else Path(x) for x in (baseline, new)]
    verdict = gate(*as_path, {k: abs(float(v)) for k, v in tolerances.items()}, force=force, rule=rule,
                   min_effect={k: abs(float(v)) for k, v in (min_effect or {}).items()})
    verdict.allow_missing = allow_missing
    verdict.fail_on_inconclusive = fail_on_inconclusive
    return verdict
