"""`nlpbench ab`'s worker: one side's code, warm, timing a few iterations at a time on request.

Run by path, never as `-m nlpbench...`: `python worker.py ROOT` (or `python
worker.py ROOT --run ARGS…`: the side's own `nlpbench ARGS…`, for `ab --quality`). It must import
`nlpbench` — harness and models — from ROOT's folders (a revision's git
worktree), not from wherever the driver's nlpbench is installed, and without
installing anything. So it imports nothing of the driver's: it maps the repo's
folders to the import package as setup.py does (bench/ -> nlpbench, models/ ->
nlpbench.models, suites/ -> nlpbench.suites: nlpbench/ab/layout.py, read by path) with a meta-path finder placed
first, which also refuses any `nlpbench.*` module ROOT lacks (an installed or
editable copy must never fill in), and puts ROOT on sys.path for a user's
plugin adapters. From the side it uses only the stable APIs: the registry's
`get_adapter`, the adapter's `Config`, `TaskInfo`, and the adapter protocol
(`setup(None)`, `synthetic_batch`, `forward`, `loss`, `generate`), so any
revision with those can be compared.

Protocol: one JSON object per line on stdin, one answer per line on the
original stdout (the process's own stdout goes to stderr, so an adapter's
print can't corrupt it): `hello`, `open` (build a cell's model and batch, run
its warm-up), `time` (`iters` timed iterations: their latencies in ms),
`close`, `quit`. A failure answers `{"error": ..., "oom": bool}`.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOTS = runpy.run_path(str(HERE / "layout.py"))["PACKAGES"]  # package -> folder; by path: imports no nlpbench


class SideFinder(importlib.abc.MetaPathFinder):
    """Every `nlpbench` module from one revision's folders, or not at all."""

    def __init__(self, root: Path):
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "nlpbench" and not fullname.startswith("nlpbench."):
            return None
        if fullname in ROOTS:
            where = self.root / ROOTS[fullname]
            init = where / "__init__.py"
            if init.is_file():
                return importlib.util.spec_from_file_location(fullname, init, submodule_search_locations=[str(where)])
        else:  # a submodule: in its parent's folder, which is this side's
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None:
                return spec
        raise ModuleNotFoundError(f"No module named '{fullname}' in {self.root}", name=fullname)


def bootstrap(root: Path) -> None:
    """This side's nlpbench first on the import path; the driver's folder off it."""
    if "nlpbench" in sys.modules:
        raise RuntimeError("nlpbench was imported before the side's finder was in place")
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(root))
    sys.meta_path.insert(0, SideFinder(root))


class Cell:
    """One cell's adapter, batch and step, built from the side's own code."""

    def __init__(self, msg: dict):
        import torch

        from nlpbench.adapter import TaskInfo
        from nlpbench.registry import get_adapter

        cls = get_adapter(msg["adapter"])
        self.device = torch.device(msg.get("device", "cpu"))
        fields = {f.name for f in dataclasses.fields(TaskInfo)}
        info = {"task": msg["task"], "num_labels": msg.get("num_labels"), "device": self.device,
                "dtype": msg.get("dtype", "fp32"), "seed": msg.get("seed", 0), "progress": False}  # fmt: skip
        torch.manual_seed(msg.get("seed", 0))
        info = TaskInfo(**{k: v for k, v in info.items() if k in fields})  # fields an older TaskInfo lacks: left out
        self.adapter = cls(cls.Config(**msg.get("params", {})), info)
        self.adapter.setup(None)
        gen = torch.Generator().manual_seed(msg.get("seed", 0))
        self.batch = self.adapter.synthetic_batch(msg["batch_size"], msg["seq_len"], gen)
        self.step = self._step(msg["mode"], msg.get("dtype", "fp32"), msg.get("max_new_tokens", 32))
        self.n_params = sum(p.numel() for p in self.adapter.model.parameters())

    def _step(self, mode: str, dtype: str, max_new_tokens: int):
        import torch

        amp = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dtype)
        ad, batch = self.adapter, self.batch

        def autocast():
            return torch.autocast(self.device.type, dtype=amp, enabled=amp is not None)

        if mode == "forward":
            ad.model.eval()
            return lambda: _under(torch.inference_mode, autocast, lambda: ad.forward(batch))
        if mode == "generate":
            ad.model.eval()
            return lambda: _under(torch.inference_mode, autocast,
                                  lambda: ad.generate(batch, max_new_tokens, fixed_length=True))  # fmt: skip
        if mode == "train_step":
            ad.model.train()
            opt = torch.optim.AdamW(ad.model.parameters(), lr=1e-5)

            def train():
                with autocast():
                    loss = ad.loss(batch)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)

            return train
        raise ValueError(f"mode '{mode}': ab times forward, generate and train_step")

    def time(self, iters: int) -> list[float]:
        import torch

        cuda = self.device.type == "cuda"
        out = []
        gc.disable()  # as the harness's loop: a collection never lands in one sample
        try:
            for _ in range(iters):
                t0 = time.perf_counter_ns()
                self.step()
                if cuda:
                    torch.cuda.synchronize()
                out.append((time.perf_counter_ns() - t0) / 1e6)
        finally:
            gc.enable()
        return out


def _under(mode_ctx, amp_ctx, fn):
    with mode_ctx(), amp_ctx():
        return fn()


def handle(cells: dict, msg: dict) -> dict:
    op = msg["op"]
    if op == "hello":
        import nlpbench
        import torch

        if msg.get("threads"):
            torch.set_num_threads(int(msg["threads"]))
        return {"nlpbench": nlpbench.__file__, "pid": os.getpid(), "threads": torch.get_num_threads()}
    if op == "open":
        cell = cells[msg["cell"]] = Cell(msg)
        warm = cell.time(max(1, int(msg.get("warmup", 3))))  # first steps allocate and fill caches: untimed
        return {"n_params": cell.n_params, "warm_ms": warm}
    if op == "time":
        return {"samples_ms": cells[msg["cell"]].time(int(msg["iters"]))}
    if op == "close":
        cells.pop(msg["cell"], None)
        gc.collect()
        return {}
    raise ValueError(f"unknown op '{op}'")


def main() -> int:
    bootstrap(Path(sys.argv[1]).resolve())
    if sys.argv[2:3] == ["--run"]:  # `ab --quality`: the side's own command line, e.g. `run SUITE ...`
        from nlpbench.cli import main as cli

        return cli(sys.argv[3:])
    proto = os.fdopen(os.dup(1), "w", buffering=1)  # answers only; anything else printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch

    torch.set_num_interop_threads(1)  # as the harness's perf workers
    cells: dict = {}
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["op"] == "quit":
            break
        try:
            out = handle(cells, msg)
        except Exception as e:  # noqa: BLE001  (the driver records the cell as failed and goes on)
            oom = isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()
            out = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:600], "oom": oom}
        proto.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
