"""Weights & Biases: one W&B run per run folder (group = the suite name, config = the resolved suite):
every cell's metrics in the run summary as `<cell>/<metric>`, a `records` table (a row per cell: params
and metrics) and the report files as an artifact of type `report`.

Project `$WANDB_PROJECT`, else `nlpbench`; files under `$WANDB_DIR`, else the run folder; `WANDB_MODE=offline`
writes them there only (`wandb sync` uploads them later)."""
from __future__ import annotations

import os
import re

from nlpbench.sinks import RunFolder
from nlpbench.sinks.flatten import metrics, params, report_files


def table_rows(run: RunFolder) -> tuple[list[str], list[list]]:
    flat = [{**params(r), **metrics(r)} for r in run.records]
    columns = list(dict.fromkeys(k for row in flat for k in row))
    return columns, [[row.get(c) for c in columns] for row in flat]


def send(run: RunFolder) -> str:
    import wandb

    where = os.environ.get("WANDB_DIR") or str(run.path)
    config = {"suite": run.meta.get("config"), "git_sha": run.meta.get("git_sha"), "run_dir": str(run.path.resolve())}
    r = wandb.init(project=os.environ.get("WANDB_PROJECT", "nlpbench"), name=run.name, group=run.suite,
                   job_type="nlpbench", dir=where, config=config,
                   settings=wandb.Settings(console="off", silent=True))  # fmt: skip
    try:
        for rec in run.records:
            for k, v in metrics(rec).items():
                r.summary[f"{rec.get('cell')}/{k}"] = v
        columns, rows = table_rows(run)
        r.log({"records": wandb.Table(columns=columns, data=rows)})
        report = wandb.Artifact(re.sub(r"[^\w.-]", "_", f"report-{run.name}"), type="report")
        for f in report_files(run.path):
            report.add_file(str(f), name=f.relative_to(run.path).as_posix())
        r.log_artifact(report)
        mode = r.settings.mode
        return f"{mode} run {r.id} under {r.dir}"
    finally:
        r.finish()
