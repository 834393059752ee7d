"""Checks a task's splits must pass before anything trains on them: labels, identical splits, leakage.

- Labels, per split, before any holdout is carved (so a row number is the file's): an empty label is an
  error (it would silently become a class of its own), and so is a label outside the label set or one no
  train example has (a class the model can never learn). Each line names the split, the file, row and value.
- Two splits read from files with the same content (same sha256) are an error: train = test scores 1.000.
- Overlap: how many validation/test examples also occur in train, compared after normalising the input
  text (casefold, whitespace collapsed). It is recorded for every split (run.json) and is an error above the
  dataset's `max_overlap` fraction. The default, 0.05, keeps the shipped suites running: measured with this
  rule, quick's synthetic splits overlap 0%, sst2's seeded holdout 1.15% (10 of 872: train repeats phrases)
  and its test 0%, multi30k's val 0.1% (1 of 1,014) and test2016 0%.
"""
from __future__ import annotations

from nlpbench.errors import shown
from nlpbench.tasks import get_task

DEFAULT_MAX_OVERLAP = 0.05


def where(split: str, sources: dict) -> str:
    """The end of a message naming the files a split was read from (' in /data/dev.tsv'); '' for generated data."""
    files = sources.get(split) or []
    return f" in {', '.join(f['path'] for f in files)}" if files else ""


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def label_set(splits: dict, given: list | None, sources: dict, at: str, problems: list[str], role: str) -> list[str]:
    """The label set of the `role` column, as strings (the suite's `labels`, else those seen in train, sorted);
    every empty label, label outside the set and label train never shows goes into `problems` (the first per
    split and kind, with a count)."""
    from nlpbench.data import label_key  # the one sort order of label names

    train = splits.get("train")
    seen = {str(v) for v in (train[role] if train is not None else []) if not _is_empty(v)}
    labels = [str(v) for v in given] if given else sorted(seen, key=label_key)
    if len(labels) < 2:
        problems.append(f"{at}.labels: a classification task needs at least 2 labels; found {labels}")
    allowed = set(labels)
    for split, ds in splits.items():
        found: dict[str, list] = {}
        for i, v in enumerate(ds[role]):
            kind = ("empty" if _is_empty(v) else "outside" if str(v) not in allowed
                    else "unseen" if split != "train" and str(v) not in seen else None)  # fmt: skip
            if kind:
                found.setdefault(kind, [i, v, 0])[2] += 1
        for kind, (i, v, n) in found.items():
            more = f" ({n} such rows)" if n > 1 else ""
            what = {"empty": "an empty label; every example needs one of",
                    "outside": f"label {shown(v)} outside the label set",
                    "unseen": f"label {shown(v)}, which no train example has; the model can't learn it. Label set"}[kind]
            problems.append(f"{at}: {split} row {i + 1} has {what} [{', '.join(labels)}]{more}{where(split, sources)}")
    return labels


def identical_splits(sources: dict, at: str) -> list[str]:
    """Splits read from files of identical content, one line per pair."""
    problems, first = [], {}
    order = ("train", "validation", "test")  # the later split is the one named as the copy
    for split, files in sorted(sources.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 3):
        key = tuple(f["sha256"] for f in files)
        if key and key in first:
            other = first[key]
            same_paths = [f["path"] for f in files] == [f["path"] for f in sources[other]]
            same = "the same file" if same_paths else "files with identical content"
            problems.append(f"{at}.files.{split}: the {split} split is {same} as {other} (sha256 {key[0][:12]}): "
                            f"scores on it would measure memory, not generalisation; give each split its own data")
        first.setdefault(key, split)
    return problems


def normalise(text) -> str:
    return " ".join(str(text).casefold().split())


def overlap(task: str, splits: dict) -> dict:
    """{split: {"n": examples also in train, "of": split size, "fraction": n / of}} for every split but train."""
    if "train" not in splits:
        return {}
    role = get_task(task).roles[0]  # the input: what a model sees
    train = {normalise(x) for x in splits["train"][role]}
    out = {}
    for split, ds in splits.items():
        if split != "train" and len(ds):
            n = sum(normalise(x) in train for x in ds[role])
            out[split] = {"n": n, "of": len(ds), "fraction": round(n / len(ds), 6)}
    return out


def overlap_problems(found: dict, limit: float, at: str) -> list[str]:
    return [f"{at}.max_overlap: {o['n']} of {o['of']} {split} examples ({o['fraction']:.2%}) also occur in train "
            f"(input text compared casefolded, whitespace collapsed), above the {limit:.2%} allowed; "
            f"deduplicate the splits or raise max_overlap"
            for split, o in found.items() if o["fraction"] > limit]


def overlap_line(label: str, found: dict) -> str | None:
    """One line for `validate` and the run log, e.g. 'classification: overlap with train: validation 10/872 (1.15%)'."""
    if not found:
        return None
    parts = [f"{s} {o['n']}/{o['of']} ({o['fraction']:.2%})" for s, o in found.items()]
    return f"{label}: examples also in train: {', '.join(parts)}"
