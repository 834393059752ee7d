"""TensorBoard: event files written with torch's SummaryWriter: a scalar per cell and metric
(`<cell>/<metric>`, step 0), the learning curve (`<cell>/validation_score` by step), each cell's params
as text, report.md as text and the plots as images.

Into `$NLPBENCH_TENSORBOARD_DIR/<run folder name>`, else `RUN_DIR/tensorboard`
(`tensorboard --logdir results/runs` then shows every run)."""
from __future__ import annotations

import os
from pathlib import Path

from nlpbench.sinks import RunFolder
from nlpbench.sinks.flatten import curve, metrics, params, report_files


def log_dir(run: RunFolder) -> Path:
    base = os.environ.get("NLPBENCH_TENSORBOARD_DIR")
    return Path(base) / run.name if base else run.path / "tensorboard"


def _params_text(p: dict) -> str:
    return "| param | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in p.items())


def send(run: RunFolder) -> str:
    from matplotlib.image import imread
    from torch.utils.tensorboard import SummaryWriter

    where = log_dir(run)
    with SummaryWriter(log_dir=str(where)) as w:
        for rec in run.records:
            cell = str(rec.get("cell"))
            for k, v in metrics(rec).items():
                w.add_scalar(f"{cell}/{k}", v, 0)
            for step, score in curve(rec):
                w.add_scalar(f"{cell}/validation_score", score, step)
            w.add_text(f"{cell}/params", _params_text(params(rec)))
        for f in report_files(run.path):
            if f.name == "report.md":
                w.add_text("report", f.read_text(encoding="utf-8"))
            elif f.suffix == ".png":
                w.add_image(f"plots/{f.stem}", imread(str(f)), dataformats="HWC")
    return str(where)
