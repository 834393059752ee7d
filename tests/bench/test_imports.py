"""The `bench` package has no import cycles, module- or function-level, and no module uses another's private names.

Function-level imports count: a cycle held together by a late import is still a cycle a reader must
untangle."""
from __future__ import annotations

import ast
from pathlib import Path

from nlpbench.ab.layout import HARNESS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / HARNESS


def module_name(path: Path) -> str:
    """bench/perf/cell.py -> nlpbench.perf.cell (the folder bench/ is the import package nlpbench)."""
    parts = ["nlpbench", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path, known: set[str]) -> dict[str, set[str]]:
    """module -> {imported bench modules}, and the private names it takes from them."""
    mod = module_name(path)
    deps, private = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, node)
            targets = [(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base, a.name) for a in node.names]
        else:
            continue
        for target, name in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != mod:
                deps.add(target)
                if name and name.startswith("_") and not name.startswith("__"):
                    private.add(f"{target}.{name}")
    return {"deps": deps, "private": private}


def graph() -> dict[str, dict]:
    files = [p for p in PACKAGE.rglob("*.py") if "metrics" not in p.relative_to(PACKAGE).parts[:1] or p.parent == PACKAGE / "metrics"]
    known = {module_name(p) for p in files}
    return {module_name(p): imports(p, known) for p in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a DFS from each node (enough to show one per strongly connected part)."""
    found, seen = [], set()

    def dfs(node, stack, on_stack):
        for nxt in sorted(g.get(node, ())):
            if nxt in on_stack:
                cyc = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    found.append(cyc)
            elif nxt not in visited:
                visited.add(nxt)
                dfs(nxt, stack + [nxt], on_stack | {nxt})

    for start in sorted(g):
        visited = {start}
        dfs(start, [start], {start})
    return found


def _edges() -> dict[str, set[str]]:
    g = graph()
    # a package's __init__ re-exporting its submodules lazily is not a dependency of theirs on it
    return {m: {d for d in v["deps"] if not (m.startswith(d + ".") and d.count(".") < m.count("."))} for m, v in g.items()}


def test_bench_has_no_import_cycles():
    found = cycles(_edges())
    assert not found, "import cycles in bench/: " + "; ".join(" -> ".join(c) for c in found)


def test_no_module_uses_another_modules_private_names():
    bad = {m: sorted(v["private"]) for m, v in graph().items() if v["private"]}
    assert not bad, f"private names used across modules: {bad}"


def test_the_checker_sees_a_function_level_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c[:-1]) for c in cycles(g)] == [["a", "b", "c"]]
