"""A job in another interpreter: `python -m nlpbench.launch.child SPEC OUT` (the process executor), or
`run_child(child)` inside a Ray task.

SPEC is a job's `child`: {"entry": "module:function", "spec": {...}, "imports": [...]}. The modules in
`imports` are imported first (plugins and test adapters register themselves on import), then
`entry(spec)` runs and its answer (a JSON-able dict) is written to OUT, atomically: a child that dies
midway leaves no answer, and the driver writes the job's `lost` records instead.
"""
from __future__ import annotations

import gc
import json
import os
import sys
from importlib import import_module
from pathlib import Path


def run_child(child: dict) -> dict:
    for module in child.get("imports") or ():
        import_module(module)
    module, _, name = child["entry"].partition(":")
    return getattr(import_module(module), name)(child["spec"])


def set_threads() -> None:
    import torch

    from nlpbench.perf.cell import THREADS_ENV

    if os.environ.get(THREADS_ENV):
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    if torch.get_num_interop_threads() != 1:
        torch.set_num_interop_threads(1)  # as the inline launcher pins it (nlpbench.launch.cells)


def main(argv: list[str] | None = None) -> int:
    spec_path, out_path = (argv if argv is not None else sys.argv[1:])[:2]
    child = json.loads(Path(spec_path).read_text())
    set_threads()
    gc.freeze()  # a fresh interpreter holds no garbage yet: skip the one slow full collection
    out = run_child(child)
    tmp = Path(out_path).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, default=str))
    tmp.replace(out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
