"""`--resume RUN_DIR`: what a resume must find the same before it writes a line into someone's folder.

A run folder holds results of one suite, on one set of data, by one version of the code. A resume that ran
the missing cells on changed data (a test file edited in place) or by other code would put numbers of two
experiments side by side under one name. So before anything is written (not even the lock file) a resume
compares, with what the folder's run.json recorded:

- the suite (its `config`, placement keys aside: those change where units run, not what they compute);
  a key the folder's run.json lacks counts as its default, so a folder written before a key existed resumes;
- the data: run.json's `environment.data`, task by task and split by split (row count, sha256, and any
  other fingerprint recorded there), for the tasks both sides loaded;
- the code: the nlpbench version and commit (`nlpbench` in run.json).

A difference of data or code is refused in one line unless `--force`, which the resume then records
(run.json `resumed`: when, and what differed). A different suite is refused even with `--force`: run.json
holds one `config`, which `eval` rebuilds models from and `report` labels by; a changed suite is a new
run folder. The folder's own records must read cleanly too (a damaged middle line is named, and the folder
left as it is).
"""
from __future__ import annotations

import json
from pathlib import Path

from nlpbench import env
from nlpbench.errors import BadInput
from nlpbench.store.lock import as_read, status_note
from nlpbench.store.records import utc_now
from nlpbench.store.results import read_records
from nlpbench.suite.schema import PLACEMENT, Suite

CODE_KEYS = ("version", "git_sha")  # git_dirty is not an identity: two dirty trees may differ or not
UNKNOWN = (None, "", "nogit")  # git could not tell (no git, another user's checkout): not a difference
SHOWN = 10  # differences listed in the refusal; the rest counted


def read_run_json(run_dir: Path, what: str = "--resume") -> dict:
    """A run folder's run.json as a dict, or one line naming the file and why it can't be read."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise BadInput(f"{what}: {run_dir} is not a run folder (no run.json)")
    try:
        meta = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, RecursionError) as e:  # RecursionError: nested past the parser's stack
        raise BadInput(f"{what}: {path} cannot be read ({type(e).__name__}: {str(e)[:100]}); "
                       f"move the folder aside or restore run.json") from None  # fmt: skip
    except json.JSONDecodeError as e:
        raise BadInput(f"{what}: {path} is not valid JSON (line {e.lineno} column {e.colno}: {e.msg}); "
                       f"move the folder aside or restore run.json") from None  # fmt: skip
    if not isinstance(meta, dict):
        raise BadInput(f"{what}: {path} is not a run.json (a JSON object); move the folder aside or restore it")
    return meta


def suite_differences(before: dict, suite: Suite) -> list[str]:
    """Top-level suite keys whose values differ, placement aside; a key `before` lacks is its default."""
    before = dict(before) if isinstance(before, dict) else {}
    try:  # an older version's config, with keys added since at their defaults (nested too, e.g. a task's `tune`)
        before = Suite.model_validate(before).model_dump(mode="json")
    except ValueError:
        pass  # not a suite this version reads: compared as stored, so the difference is named
    now, defaults = suite.model_dump(mode="json"), Suite.model_construct().model_dump(mode="json")
    for key in PLACEMENT:  # a resumed run may place its units differently: same results
        before.pop(key, None), now.pop(key, None)
    for key in set(now) - set(before):  # a key added to the schema after the folder was written
        if key in defaults and now[key] == defaults[key]:
            now.pop(key)
    return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


def data_differences(before: dict, now: dict) -> list[str]:
    """`task/split: n 50 -> 60, sha256 1a2b3c4d -> 5e6f7a8b` for every fingerprint both sides recorded."""
    out = []
    for task in sorted(set(before) & set(now), key=str):
        old, new = before[task], now[task]
        if not (isinstance(old, dict) and isinstance(new, dict)):
            continue
        if old.get("dataset") != new.get("dataset"):
            out.append(f"{task}: dataset {old.get('dataset')} -> {new.get('dataset')}")
        old_splits, new_splits = old.get("splits") or {}, new.get("splits") or {}
        for split in sorted(set(old_splits) & set(new_splits)):
            a, b = (_ordered(sides[split]) for sides in (old_splits, new_splits))
            changed = _leaves_differ(a, b)
            if changed:
                out.append(f"{task}/{split}: {', '.join(changed)}")
        for key in sorted(set(old) & set(new) - {"dataset", "splits"}):  # fingerprints added later (files, ...)
            out += [f"{task}: {c}" for c in _leaves_differ({key: old[key]}, {key: new[key]})]
    return out


def _ordered(split: dict) -> dict:
    """A split's identity, rows and sha256 first; `overlap` left out (derived from the data compared already)."""
    if not isinstance(split, dict):
        return split
    first = {k: split[k] for k in ("n", "sha256") if k in split}
    return {**first, **{k: v for k, v in sorted(split.items()) if k not in first and k != "overlap"}}


def _leaves_differ(old, new, at: str = "") -> list[str]:
    """`key old -> new` for each leaf both sides hold that differs (hashes shortened to 12 characters)."""
    if at.endswith("files") and isinstance(old, list) and isinstance(new, list):  # what the files hold, not where
        old, new = (",".join(_short(f.get("sha256")) for f in side if isinstance(f, dict)) for side in (old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in old if k in new]  # in the first side's order (_ordered: the telling keys first)
        return [c for k in keys for c in _leaves_differ(old[k], new[k], f"{at}.{k}" if at else str(k))]
    return [] if old == new else [f"{at} {_short(old)} -> {_short(new)}"]


def _short(value) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def code_differences(before: dict) -> list[str]:
    """The nlpbench version and commit the folder was written by, where they differ from this code's."""
    old, now = before if isinstance(before, dict) else {}, env.nlpbench_source()
    known = [k for k in CODE_KEYS if old.get(k) not in UNKNOWN and now.get(k) not in UNKNOWN]
    return [f"nlpbench {k} {old[k]} -> {now[k]}" for k in known if old[k] != now[k]]


def check_resume(run_dir: Path, suite: Suite, data: dict, force: bool = False) -> list[str]:
    """Refuses (BadInput, one line) a resume whose suite differs, or whose data or code differs without
    `force`; returns what `force` let through (run.json `resumed[].forced`). `data`: this run's
    `environment.data` (nlpbench.data.identity.data_identity). Reads the records, so a damaged folder is
    refused here, before anything is written."""
    meta = read_run_json(run_dir)
    keys = suite_differences(meta.get("config") or {}, suite)
    if keys:
        raise BadInput(f"--resume: the suite and overrides differ from the run being resumed in: {', '.join(keys)} "
                       f"(--force does not cover the suite: start a new run folder)")  # fmt: skip
    read_records(run_dir)  # a damaged middle line: one line naming it, before anything is written
    if as_read(meta, run_dir).get("status") == "interrupted":  # as report, compare, eval and load read it
        from nlpbench.context import log

        log(f"--resume {run_dir}: {status_note(as_read(meta, run_dir))}")
    recorded = (meta.get("environment") or {}).get("data") if isinstance(meta.get("environment"), dict) else None
    differ = [f"data {d}" for d in data_differences(recorded or {}, data)] + code_differences(meta.get("nlpbench"))
    if differ and not force:
        more = f" (and {len(differ) - SHOWN} more)" if len(differ) > SHOWN else ""
        raise BadInput(f"--resume: {run_dir} was run on other data or code: {'; '.join(differ[:SHOWN])}{more}; "
                       f"start a new run folder, or add --force to mix them (recorded in run.json)")  # fmt: skip
    return differ


def resumed_meta(old: dict, meta: dict, forced: list[str]) -> dict:
    """run.json of a resume: the folder's record of its data kept (tasks it lacked added), this resume
    appended to `resumed` (with what `--force` let through)."""
    env_old = old.get("environment") if isinstance(old.get("environment"), dict) else {}
    data_old = env_old.get("data") if isinstance(env_old.get("data"), dict) else {}
    if isinstance(meta.get("environment"), dict):
        meta["environment"]["data"] = {**(meta["environment"].get("data") or {}), **data_old}
    entry = {"at": utc_now(), **({"forced": list(forced)} if forced else {})}
    meta["resumed"] = [*(old.get("resumed") or []), entry]
    return meta
