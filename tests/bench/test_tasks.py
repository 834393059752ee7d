"""The task table is the one place a task kind is described: nothing else compares task names.

The static check walks bench/ and models/ (bench/tasks.py aside) for a comparison with a task name
(`task == "translation"`, `task in ("classification", ...)`) or a dict keyed by one: such a line is a task
decision outside the table, which a new task kind would have to hunt down. An adapter's own
`tasks = ("classification",)` and a default value are declarations, not comparisons, and pass.
"""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

from nlpbench.tasks import TASK_NAMES, get_task

ROOT = Path(__file__).resolve().parents[2]
# Tables keyed by a name that is not a task decision: (file, assigned name) -> why
ALLOWED_DICTS = {
    ("bench/data/generators.py", "GENERATORS"): "synthetic data set names; one is also called 'translation'",
    ("bench/suite/plan.py", "RATES"): "measured train speeds of built-in adapters per (adapter, task): an adapter fact",
}


def _names(node) -> list[str]:
    """The task names a node spells out directly (a string, or a tuple/list/set of strings)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [n.value for n in items if isinstance(n, ast.Constant) and n.value in TASK_NAMES]


def task_name_decisions(path: Path, root: Path = ROOT) -> list[str]:
    """'file:line: name' for each comparison with a task name and each dict keyed by one."""
    out, tree, rel = [], ast.parse(path.read_text()), path.relative_to(root).as_posix()
    allowed = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
               for t in node.targets if isinstance(t, ast.Name) and (rel, t.id) in ALLOWED_DICTS}  # fmt: skip
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found = [name for side in (node.left, *node.comparators) for name in _names(side)]
        elif isinstance(node, ast.Dict) and id(node) not in allowed:
            found = [name for key in node.keys if key is not None for name in _names(key)]
        else:
            continue
        out += [f"{rel}:{node.lineno}: {name}" for name in found]
    return out


def test_no_task_name_is_compared_outside_the_task_table():
    files = [p for d in ("bench", "models") for p in sorted((ROOT / d).rglob("*.py")) if p != ROOT / "bench/tasks.py"]
    assert files
    assert [line for p in files for line in task_name_decisions(p)] == []


def test_the_check_finds_a_comparison_and_a_task_keyed_dict(tmp_path):
    src = tmp_path / "x.py"
    src.write_text('a = t == "translation"\nb = t in ("classification",)\nc = {"translation": 1}\n'
                   'tasks = ("classification",)\n')
    found = [line.split(": ", 1)[1] for line in task_name_decisions(src, tmp_path)]
    assert found == ["translation", "classification", "translation"]


def test_each_task_answers_what_the_harness_asks():
    cls, mt = get_task("classification"), get_task("translation")
    assert (cls.input_role, cls.reference_role, mt.input_role, mt.reference_role) == ("text", "label", "src", "tgt")
    assert cls.predicts_classes and not mt.predicts_classes
    assert (cls.no_answer, mt.no_answer) == (-1, "")
    assert (cls.perf_modes[0], mt.perf_modes[0]) == ("forward", "generate")
    assert not cls.parallel_files and mt.parallel_files
    gen = SimpleNamespace(mode="generate", seq_len=32, max_new_tokens=20)
    fwd = SimpleNamespace(mode="forward", seq_len=32, max_new_tokens=20)
    assert (cls.tokens_per_row(gen), cls.tokens_per_row(fwd)) == (32, 32)
    assert (mt.tokens_per_row(gen), mt.tokens_per_row(fwd)) == (52, 64)  # source + target
    for task in (cls, mt):
        preds, refs = task.sample
        assert len(preds) == len(refs) > 0
