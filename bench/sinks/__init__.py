"""Tracker sinks: a finished run folder sent to MLflow, Weights & Biases or TensorBoard.

`nlpbench run SUITE --log-to mlflow,wandb,tensorboard` (suite key `log_to`) sends each record's metrics
and params, the learning curve of each training unit and the report files once the run has written
them; `nlpbench report RUN_DIR --to mlflow` sends an existing run folder. Each sink is an optional
extra (`pip install -e '.[mlflow]'`); a missing one is one line at validate time (exit 2). The run
folder stays the source of truth: a sink that fails is a warning, never a lost result.

Where each goes (each tool's own settings): MLflow to `$MLFLOW_TRACKING_URI`, else `./mlruns` (a file
store), experiment = the suite name, one parent run per run folder and a nested run per cell; W&B to
project `$WANDB_PROJECT` (else `nlpbench`), files under `$WANDB_DIR` (else the run folder), honouring
`WANDB_MODE=offline`; TensorBoard event files in `$NLPBENCH_TENSORBOARD_DIR/<run folder name>` (else
`RUN_DIR/tensorboard`).
"""
from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from nlpbench.errors import BadInput, unknown_name
from nlpbench.extras import missing_extra

# sink name -> (module that must import, extra that installs it, module of nlpbench that sends)
SINKS = {
    "mlflow": ("mlflow", "mlflow", "nlpbench.sinks.mlflow_sink"),
    "wandb": ("wandb", "wandb", "nlpbench.sinks.wandb_sink"),
    "tensorboard": ("tensorboard", "tensorboard", "nlpbench.sinks.tensorboard_sink"),
}


@dataclass
class RunFolder:
    """What a sink sends: a run folder, its run.json and its records (latest per cell)."""

    path: Path
    meta: dict
    records: list[dict]

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def suite(self) -> str:
        return str(self.meta.get("suite") or next((r.get("suite") for r in self.records if r.get("suite")), "nlpbench"))


def parse(arg: str | None) -> list[str]:
    """`mlflow,wandb` -> ['mlflow', 'wandb']."""
    return [s.strip() for s in (arg or "").split(",") if s.strip()]


def problems(names, at: str = "log_to") -> list[str]:
    """One line per unknown sink and per sink whose extra is not installed."""
    out = []
    for name in names:
        if name not in SINKS:
            out.append(f"{at}: " + unknown_name("sink", name, SINKS))
            continue
        module, extra, _ = SINKS[name]
        out += missing_extra(module, extra, f"{at}: '{name}'")
    return out


def suite_problems(suite) -> list[str]:
    """The `log_to:` stage's validate-time problems (nlpbench.suite.stages): unknown sinks, missing extras."""
    return problems(suite.log_to)


def load(run_dir: Path) -> RunFolder:
    from nlpbench.store.results import read_records

    run_dir = Path(run_dir)
    if not (run_dir / "records.jsonl").is_file():
        raise BadInput(f"run folder '{run_dir}': no records.jsonl (expected a folder written by `nlpbench run`)")
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        meta = {}
    return RunFolder(run_dir, meta if isinstance(meta, dict) else {}, read_records(run_dir))


def publish(run_dir: Path, suite) -> None:
    """The log_to stage (nlpbench.suite.stages): after the report, so its files go too; a failing sink only warns."""
    send(run_dir, suite.log_to)


def send(run_dir: Path, names, strict: bool = False) -> dict[str, str]:
    """Sends a run folder to each sink; {sink: where it went}. BadInput for an unknown or missing sink.
    A sink that fails is logged as a warning (strict: raised), so that nothing measured is lost."""
    log = logging.getLogger("nlpbench").log  # by name: nlpbench.context imports the suite schema, which imports this

    names = list(dict.fromkeys(names))
    bad = problems(names)
    if bad:
        raise BadInput(bad)
    run, out = load(run_dir), {}
    for name in names:
        try:
            out[name] = importlib.import_module(SINKS[name][2]).send(run)
        except Exception as e:  # a tracker's own failure (server down, quota): the run folder keeps everything
            if strict:
                raise
            log(logging.WARNING, f"sink {name} failed: {type(e).__name__}: {e}; the run folder keeps every result "
                f"(resend: nlpbench report {run_dir} --to {name})")  # fmt: skip
            continue
        log(logging.INFO, f"sent to {name}: {out[name]}")
    return out
