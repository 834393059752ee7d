"""`nlpbench ab --quality`: both revisions train and score the suite's quality cells, and the gate compares them.

Each side runs `nlpbench run SUITE KEY=VALUE… perf=null serve=null` with its own
code: `python worker.py ROOT --run …` (nlpbench.ab.worker's meta-path finder,
so the driver's installed copy never fills in), and any interpreter that run
starts (the process launcher's children) finds the side's code first through a
folder of links on PYTHONPATH (`side_path`). A suite given by name is the side's
own shipped suite; a file is the same file for both. The two runs go side by
side, each at half the cores (`threads`, unless the suite sets it: both sides
at one count, so the numbers compare), after the perf cells, never during them.
Then `nlpbench.gate.compare(base run, head run)` with the gate's quality rules
(default: head may fall to base's 95% lower bound; `--quality-tolerance
accuracy=0` is exact): a regression fails the ab run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nlpbench.ab.client import WORKER
from nlpbench.ab.sides import Side
from nlpbench.errors import BadInput
from nlpbench.ab.layout import HARNESS, SUBPACKAGES


def side_path(root: Path, where: Path) -> Path:
    """A folder holding `nlpbench/`: links to the side's bench/ entries plus models/ and suites/, to put first on
    PYTHONPATH, so that a child interpreter (`python -m nlpbench.launch.child`) imports this side's code."""
    pkg = where / "nlpbench"
    pkg.mkdir(parents=True)
    for entry in (root / HARNESS).iterdir():
        if entry.name not in SUBPACKAGES and entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name, folder in SUBPACKAGES.items():
        if (root / folder).is_dir():
            (pkg / name).symlink_to(root / folder)
    return where


def side_command(root: Path, suite_arg: str, overrides, out: Path, data_dir, models, tasks) -> list[str]:
    suite = str(Path(suite_arg).resolve()) if Path(suite_arg).is_file() else suite_arg  # a name: the side's own
    cmd = [sys.executable, str(WORKER), str(root), "--run", "run", suite, *overrides, "--out", str(out), "--no-progress"]
    cmd += ["--data-dir", str(Path(data_dir).resolve())] if data_dir else []
    cmd += ["--models", ",".join(models)] if models else []
    return cmd + (["--tasks", ",".join(tasks)] if tasks else [])


def run_sides(run_dir: Path, pair: tuple[Side, Side], suite, suite_arg: str, overrides, data_dir, models,
              tasks) -> dict[str, Path]:  # fmt: skip
    """Both sides' quality runs, side by side: {side name: its run folder}. BadInput when one could not run."""
    if not suite.tasks:
        raise BadInput(f"ab --quality: suite '{suite.name}' has no tasks: no quality cells to compare")
    threads = suite.threads or max(1, (os.cpu_count() or 2) // 2)
    extra = [f"threads={threads}", "perf=null"] + (["serve=null"] if suite.serve else [])
    procs, farm = {}, Path(tempfile.mkdtemp(prefix="nlpbench-ab-path-"))
    try:
        for side in pair:
            procs[side.name] = _start(side, run_dir, farm, side_command(
                side.root, suite_arg, [*overrides, *extra], run_dir / "quality" / side.name, data_dir, models, tasks))
        print(f"ab --quality: training both sides ({threads} thread(s) each; logs in {run_dir / 'logs'})", flush=True)
        return {name: _finished(name, *p) for name, p in procs.items()}
    finally:
        for proc, _, _ in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
        shutil.rmtree(farm, ignore_errors=True)


def _start(side: Side, run_dir: Path, farm: Path, cmd: list[str]) -> tuple[subprocess.Popen, Path, Path]:
    out, log = run_dir / "quality" / side.name, run_dir / "logs" / f"quality-{side.name}.log"
    out.mkdir(parents=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    path = [str(side_path(side.root, farm / side.name))] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(path)})  # fmt: skip
    return proc, out, log


def _finished(name: str, proc: subprocess.Popen, out: Path, log: Path) -> Path:
    code = proc.wait()
    if code == 130:
        raise KeyboardInterrupt
    runs = [d for d in out.iterdir() if d.is_dir()]
    if code not in (0, 1) or len(runs) != 1:  # 1: a cell failed, which the comparison reports
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:] or [""]
        raise BadInput(f"ab --quality: the {name} side's run failed (exit {code}): {tail[0]} (log: {log})")
    return runs[0]


def compare_runs(runs: dict[str, Path], tolerances: dict[str, float]) -> tuple[dict, str, str]:
    """The gate's verdict on head's quality cells against base's: (as JSON, as Markdown, as console text)."""
    from nlpbench.gate.compare import compare
    from nlpbench.gate.output import as_dict, markdown, render
    from nlpbench.gate.sides import load_side

    result = compare(load_side(runs["base"]), load_side(runs["head"]), tolerances)  # BadInput: nothing compared
    verdict = {k: as_dict(result, "base", "head")[k] for k in ("ok", "compared", "regressions", "warnings")}
    return verdict, markdown(result, "base", "head"), render(result, "base", "head")
