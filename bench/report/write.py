"""`nlpbench report`: tables (markdown, CSV, self-contained HTML) and plots of run folders.

One run folder gives one table per task plus a perf and a generation table.
Several folders give the same tables with one column group per run (labelled
by the folder name) and ratio columns (run / first run) for the main numbers,
e.g. CPU vs GPU, or before vs after a change.

Tables are pandas frames of raw numbers (that is what the CSV files hold);
rounding and "0.853 [0.831, 0.874]" style cells are made only for display.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nlpbench.context import log
from nlpbench.errors import BadInput
from nlpbench.extras import missing_extra
from nlpbench.report import console, pairwise, plots
from nlpbench.report.identity import check_same_data
from nlpbench.report.table_base import Table
from nlpbench.report.tables import build_tables, display, flat, side_by_side, to_markdown
from nlpbench.report.targets import table as ttt_table
from nlpbench.suite.stages import STAGES
from nlpbench.store.lock import as_read, status_note
from nlpbench.store.results import read_records
from nlpbench.tune import report as tune_report



def _title(name: str) -> str:
    """A picture's heading (the tune plots add theirs as they are drawn)."""
    return {**plots.TITLES, **tune_report.TITLES}.get(name, name)


# tables beyond quality/perf/generation, one function per stage of the run (nlpbench.suite.stages), each making
# tables only when its records exist: deployment variants, serving
EXTRA_TABLES = tuple(stage.tables_of for stage in STAGES if stage.tables)

# ---------------------------------------------------------------- loading


@dataclass
class Run:
    label: str  # the run folder's name
    path: Path
    meta: dict  # run.json ({} when absent or unreadable)
    records: list[dict]


def load_records(run_dir: Path) -> list[dict]:
    """The latest record of each cell of a run folder (see `nlpbench.store.results.read_records`)."""
    if not (Path(run_dir) / "records.jsonl").is_file():
        raise BadInput(f"run folder '{run_dir}': no records.jsonl (expected a folder written by `nlpbench run`)")
    return read_records(run_dir)


def read_meta(run_dir: Path) -> dict:
    """run.json as readers take it (`running` with no live writer reads `interrupted`: nlpbench.store.lock)."""
    try:
        meta = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return as_read(meta, Path(run_dir)) if isinstance(meta, dict) else {}


def load_runs(run_dirs: list[Path]) -> list[Run]:
    """Every folder checked first so that all bad paths are reported at once."""
    problems = [f"run folder '{d}' does not exist" for d in run_dirs if not Path(d).is_dir()]
    if problems:
        raise BadInput(problems)
    runs, seen = [], set()
    for d in map(Path, run_dirs):
        label = d.resolve().name
        while label in seen:  # same folder name under two parents
            label = f"{d.resolve().parent.name}/{label}"
        seen.add(label)
        runs.append(Run(label, d, read_meta(d), load_records(d)))
        note = status_note(runs[-1].meta)
        if note:
            log(f"{d}: {note}")
    return runs


# The fingerprint's fields and where each is found: run.json's `machine` (nlpbench.env.machine) names them
# device_name and cpu_model; a baseline file's `machine` (this function's own output) device and cpu.
_MACHINE_KEYS = {
    "device": ("device_name", "device"),
    "cpu": ("cpu_model", "cpu"),
    "threads": ("threads",),
    "torch": ("torch",),
    "cuda": ("cuda",),
}


def machine_info(meta: dict) -> dict:
    """The machine fingerprint (device, cpu, threads, torch, cuda) of a run.json or a baseline's
    `machine`; None for what it doesn't record."""
    machine = meta.get("machine") if isinstance(meta.get("machine"), dict) else {}
    info = {}
    for field, names in _MACHINE_KEYS.items():
        value = next((machine[n] for n in names if machine.get(n) not in (None, "")), None)
        info[field] = value if isinstance(value, (str, int, float)) else None
    return info


def summary_table(records: list[dict]) -> str:
    """The console summary: quality per task, then perf, generation and serving, within 120 columns."""
    return console.summary(records, EXTRA_TABLES)


# ---------------------------------------------------------------- writing


def write_report(run_dirs: list[Path], out_dir: Path | None = None, latex: bool = False, force: bool = False) -> Path:
    """Writes report.md, one CSV per table, report.html and plots/*.png into
    `out_dir` (default: the first run folder), and with `latex` one latex/<table>.tex per table;
    returns the report.md path. Several runs whose same cell was scored on different data (`data_sha256`)
    are refused unless `force`."""
    runs = load_runs([Path(d) for d in run_dirs])
    check_same_data({run.label: run.records for run in runs}, force)
    out = Path(out_dir) if out_dir is not None else runs[0].path
    out.mkdir(parents=True, exist_ok=True)
    plain = {run.label: [r for r in run.records if not tune_report.is_tune(r)] for run in runs}  # tune: own section
    if len(runs) == 1:
        tables = build_tables(plain[runs[0].label], EXTRA_TABLES)
    else:
        tables = side_by_side(plain, EXTRA_TABLES)
    if len(runs) == 1:  # paired tests between the run's models, after its quality tables
        at = sum(t.spec.name.startswith("quality_") for t in tables)
        tables[at:at] = [*pairwise.tables(runs[0].path, plain[runs[0].label]),
                         *filter(None, [ttt_table(plain[runs[0].label])])]
        tables += tune_report.tables(runs[0].path, runs[0].records)  # the tune stage's section (nlpbench.tune)
    for stale in [*out.glob("quality_*.csv"), *out.glob("deployment_*.csv"), *out.glob("pairwise_*.csv"),
                  *out.glob("tune_*.csv"),
                  out / "time_to_target.csv", out / "perf.csv", out / "generation.csv", out / "serve.csv"]:
        stale.unlink(missing_ok=True)  # a refreshed report must not keep tables that are gone
    for table in tables:
        flat(table.frame).to_csv(out / f"{table.spec.name}.csv", index=False)
    if latex:
        write_latex(tables, out / "latex")
    pictures = plots.write_plots(plain, out / "plots")
    if len(runs) == 1:
        pictures.update(tune_report.pictures(runs[0].records, out / "plots"))
        tune_report.write_configs(runs[0].records, runs[0].path, out)
    (out / "report.md").write_text(render_markdown(runs, tables, pictures, out), encoding="utf-8")
    (out / "report.html").write_text(render_html(runs, tables, pictures), encoding="utf-8")
    return out / "report.md"


def _machine_rows(runs: list[Run]) -> list[dict]:
    rows = []
    for run in runs:
        m = machine_info(run.meta)
        rows.append({"run": run.label, "suite": _suite_of(run), "device": m["device"], "cpu": m["cpu"],
                     "threads": m["threads"], "torch": m["torch"], "git": _git(run.meta), "cells": len(run.records)})
    return rows


def _git(meta: dict) -> str:
    git = meta.get("git") if isinstance(meta.get("git"), dict) else meta
    sha = git.get("sha") or git.get("git_sha") or ""
    dirty = git.get("dirty", git.get("git_dirty"))
    return f"{sha}{' (dirty)' if sha and dirty else ''}"


def _suite_of(run: Run) -> str:
    if isinstance(run.meta.get("suite"), str):
        return run.meta["suite"]
    config = run.meta.get("config")
    if isinstance(config, dict) and config.get("name"):
        return str(config["name"])
    return next((str(r["suite"]) for r in run.records if r.get("suite")), "")


def _failures(runs: list[Run]) -> list[dict]:
    return [{"run": run.label, "cell": r.get("cell", ""), "status": r.get("status"),
             "error": str(r.get("error") or "")[:300]}
            for run in runs for r in run.records if r.get("status") not in (None, "ok")]


def _perf_notes(runs: list[Run]) -> list[str]:
    """Per run: the machine's drift over the perf stage and the peak beside its ceiling (nlpbench.perf.noise,
    nlpbench.perf.probe), as the run printed them; nothing for runs without them (older ones, no perf)."""
    from nlpbench.perf.probe import ceiling_line

    out = []
    for run in runs:
        drift, probe = run.meta.get("machine_drift"), run.meta.get("matmul_probe")
        lines = [drift.get("line")] if isinstance(drift, dict) and drift.get("line") else []
        lines += [ceiling_line(probe)] if isinstance(probe, dict) and probe.get("ceiling") else []
        out += [f"- {run.label}: {line}" for line in lines]
    return out


def _md_table(rows: list[dict]) -> str:
    return to_markdown(pd.DataFrame(rows).fillna("").astype(str))


def render_markdown(runs: list[Run], tables: list[Table], pictures: dict[str, Path], out: Path) -> str:
    parts = [f"# nlpbench report: {', '.join(r.label for r in runs)}", "", "## Runs", "",
             _md_table(_machine_rows(runs))]
    notes = _perf_notes(runs)
    if notes:
        parts += ["", "## How far the perf figures hold", "", *notes]
    for table in tables:
        parts += ["", f"## {table.spec.title}", "", to_markdown(display(table))]
    failures = _failures(runs)
    if failures:
        parts += ["", "## Cells that did not finish ok", "", _md_table(failures)]
    if pictures:
        parts += ["", "## Plots", ""]
        parts += [f"![{_title(name)}]({path.relative_to(out).as_posix() if path.is_relative_to(out) else path})"
                  for name, path in pictures.items()]
    if not tables:
        parts += ["", "(no records yet)"]
    return "\n".join(parts) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f0f3f7}
tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
"""


def render_html(runs: list[Run], tables: list[Table], pictures: dict[str, Path]) -> str:
    """One file that opens anywhere: inline CSS, plots embedded as base64 PNG."""
    def frame_html(df: pd.DataFrame) -> str:
        return df.to_html(index=False, border=0, na_rep="", escape=True)

    title = html.escape(f"nlpbench report: {', '.join(r.label for r in runs)}")
    body = [f"<h1>{title}</h1>", "<h2>Runs</h2>", frame_html(pd.DataFrame(_machine_rows(runs)))]
    for table in tables:
        body += [f"<h2>{html.escape(table.spec.title)}</h2>", frame_html(display(table))]
    failures = _failures(runs)
    if failures:
        body += ["<h2>Cells that did not finish ok</h2>", frame_html(pd.DataFrame(failures))]
    for name, path in pictures.items():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body += [f"<h2>{html.escape(_title(name))}</h2>",
                 f'<img alt="{html.escape(name)}" src="data:image/png;base64,{data}">']
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


# LaTeX text mode lacks these glyphs (pdflatex stops on Δ); pandas' escape leaves them as they are
_LATEX_GLYPHS = {"±": r"$\pm$", "Δ": r"$\Delta$", "×": r"$\times$", "<": r"$<$", ">": r"$>$", "≥": r"$\geq$",
                 "≤": r"$\leq$", "–": "--", "—": "---"}


def to_latex(table: Table) -> str:
    """One table as a LaTeX tabular (pandas' own `DataFrame.to_latex`, booktabs rules), display strings."""
    text = display(table).to_latex(index=False, escape=True, na_rep="",
                                   caption=table.spec.title.replace("_", r"\_"), label=f"tab:{table.spec.name}")
    for glyph, tex in _LATEX_GLYPHS.items():
        text = text.replace(glyph, tex)
    return text


def write_latex(tables: list[Table], folder: Path) -> list[Path]:
    """latex/<table>.tex, one per table (stale ones removed), for \\input in a paper."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.tex"):
        stale.unlink()
    paths = []
    for table in tables:
        paths.append(folder / f"{table.spec.name}.tex")
        paths[-1].write_text(to_latex(table), encoding="utf-8")
    return paths


# ---------------------------------------------------------------- command line


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write tables and plots of run folders (several: side by side)")
    p.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="where to write (default: the first RUN_DIR)")
    p.add_argument("--latex", action="store_true", help="also latex/<table>.tex, one per table (needs jinja2)")
    p.add_argument("--to", metavar="SINK[,SINK]", help="also send each RUN_DIR to mlflow, wandb and/or tensorboard")
    p.add_argument("--force", action="store_true", help="pair cells even when their data (data_sha256) differ")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from nlpbench import sinks

    to = sinks.parse(getattr(args, "to", None))
    problems = sinks.problems(to, at="--to") + (missing_extra("jinja2", "latex", "--latex") if args.latex else [])
    if problems:  # before anything is written
        raise BadInput(problems)
    path = write_report(args.run_dirs, args.out, latex=args.latex, force=args.force)
    print(f"report: {path} (and {path.with_suffix('.html').name}, CSV files, plots/{', latex/' if args.latex else ''} beside it)")
    for run_dir in args.run_dirs if to else []:
        sinks.send(run_dir, to)
    return 0


def report_and_summary(run_dir: Path) -> None:
    """The end of `run` and `eval`: the report files written, the summary printed."""
    path = write_report([run_dir])
    print(summary_table([r for r in read_records(run_dir) if not tune_report.is_tune(r)]))
    for verdict in sorted(Path(run_dir).glob("tune_verdict_*.csv")):  # the tune stage's bottom line
        print(f"\n{verdict.stem} (the tune section of report.md has the curves and tables)\n"
              f"{to_markdown(pd.read_csv(verdict).fillna('').astype(str))}")
    log(f"report: {path}")
