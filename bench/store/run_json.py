"""A run folder's run.json: opened (new, or resumed when the suite is the same), written as the run starts,
finished with a status (and, when it failed or was interrupted, why). `run` and `eval` both go through these.

A resume that fails before it records anything (bad input found late, a refused lock, a full disk) puts
the run.json it found back as it was (`Attempt`): a finished run stays finished."""
from __future__ import annotations

import json
from pathlib import Path

from nlpbench import env
from nlpbench.context import Context
from nlpbench.errors import BadInput
from nlpbench.store.records import utc_now
from nlpbench.store.results import new_run_dir, write_json, write_text
from nlpbench.suite.schema import PLACEMENT, Suite


def open_run(suite: Suite, out: Path | None, resume: Path | None) -> Path:
    if resume is None:
        return new_run_dir(suite.name, out)
    resume = Path(resume)
    meta = resume / "run.json"
    if not meta.is_file():
        raise BadInput(f"--resume: {resume} is not a run folder (no run.json)")
    before, now = json.loads(meta.read_text()).get("config") or {}, suite.model_dump(mode="json")
    try:  # an older version's config, with the keys added since at their defaults (e.g. `tune: null`)
        before = Suite.model_validate(before).model_dump(mode="json")
    except ValueError:
        pass  # not a suite this version reads: compared as stored, so the difference is named
    for key in PLACEMENT:  # a resumed run may place its units differently: same results
        before.pop(key, None), now.pop(key, None)
    if before != now:
        keys = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        raise BadInput(f"--resume: the suite and overrides differ from the run being resumed in: {', '.join(keys)}")
    return resume


def write_run_json(ctx: Context, argv: list[str], extra: dict, data=()) -> None:
    """`data`: the TaskData of ctx.suite's tasks, whose splits' hashes go into `environment`."""
    from nlpbench.data.identity import data_identity  # the data package imports datasets: heavy, run-time only

    path = ctx.run_dir / "run.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    sha, dirty = env.git_state()
    meta = {
        "suite": ctx.suite.name, "config": ctx.suite.model_dump(mode="json"), "seed": ctx.seed,
        "git_sha": sha, "git_dirty": dirty, "nlpbench": env.nlpbench_source(), "versions": env.versions(),
        "device": ctx.device.type,
        "machine": env.machine(ctx.device),
        "environment": env.environment(ctx.data_dir, data_identity(ctx.suite.tasks, data)),
        "argv": argv,
        "started_at": old.get("started_at", utc_now()), "resumed_at": old.get("resumed_at", []),
        "ended_at": None, "status": "running",
    }  # fmt: skip
    if old:
        meta["resumed_at"] = [*meta["resumed_at"], utc_now()]
    meta.update(extra)
    write_json(path, meta)


def finish_run_json(ctx: Context, status: str, **extra) -> None:
    """Ends the run: `status`, `ended_at`, and `extra` (`error` of a failed run, `interrupted_by`)."""
    path = ctx.run_dir / "run.json"
    meta = json.loads(path.read_text())
    meta.update(ended_at=utc_now(), status=status, **extra)
    write_json(path, meta)


class Attempt:
    """What a run or resume found in its folder before writing: run.json's text and the records' size."""

    def __init__(self, run_dir: Path):
        self.run_json, self.records = Path(run_dir) / "run.json", Path(run_dir) / "records.jsonl"
        self.text = self.run_json.read_text() if self.run_json.is_file() else None
        self.size = self._records_size()

    def _records_size(self) -> int:
        return self.records.stat().st_size if self.records.exists() else 0

    def recorded(self) -> bool:
        return self._records_size() != self.size

    def failed(self, ctx: Context, error: str) -> None:
        """run.json after a failure: as it was when this attempt recorded nothing in a folder that had one,
        else `failed` with the reason. Best effort: on a full or read-only disk it may not be writable."""
        try:
            if self.text is not None and not self.recorded():
                write_text(self.run_json, self.text)
            else:
                finish_run_json(ctx, "failed", error=error)
        except (OSError, BadInput):
            pass
