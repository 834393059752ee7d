"""`nlpbench profile`: a torch.profiler trace of one perf cell, for TensorBoard's profiler plugin.

The trace (`*.pt.trace.json`: operator shapes, memory, Python stacks) goes to
`RUN_DIR/profile/<cell>/`, one folder per cell, which `torch-tb-profiler` lists
as a run: `tensorboard --logdir RUN_DIR/profile`. The profiler's schedule
skips one step, warms up one, and records three, so one-off costs (lazy init,
first-call allocations) stay out of the trace.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, record_function, schedule, tensorboard_trace_handler

from nlpbench.errors import BadInput, unknown_name
from nlpbench.perf.cell import PerfCellSpec, build_adapter
from nlpbench.perf.modes import DTYPES, MODES, make_workload
from nlpbench.tasks import get_task

WAIT, WARMUP, ACTIVE = 1, 1, 3


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_")


def profile_cell(spec: PerfCellSpec, out_dir: str | Path) -> Path:
    """Profiles a few steps of `spec`'s workload into `out_dir`; returns the trace file written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(out_dir.glob("*.pt.trace.json"))
    adapter, batch = build_adapter(spec)
    work = make_workload(adapter, batch, spec.mode, spec.dtype, spec.max_new_tokens)
    if spec.compile:
        torch._dynamo.reset()
        adapter.model = torch.compile(adapter.model)
    cuda = torch.device(spec.device).type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    prof = torch.profiler.profile(
        activities=activities,
        schedule=schedule(wait=WAIT, warmup=WARMUP, active=ACTIVE, repeat=1),
        on_trace_ready=tensorboard_trace_handler(str(out_dir), worker_name=_slug(spec.cell)),
        record_shapes=True,
        profile_memory=True,
        with_stack=True,
    )
    with work.context(), prof:
        for _ in range(WAIT + WARMUP + ACTIVE):
            with record_function(f"nlpbench.{spec.mode}"):
                work.step()
            prof.step()
    new = sorted(set(out_dir.glob("*.pt.trace.json")) - before, key=lambda p: p.stat().st_mtime)
    if not new:
        raise RuntimeError(f"torch.profiler wrote no trace into {out_dir}")
    return new[-1]


# --- command line --------------------------------------------------------------------


def register(subparsers) -> None:
    p = subparsers.add_parser("profile", help="torch.profiler trace of one perf cell, for TensorBoard")
    p.add_argument("suite", help="a suite path, or a name in suites/")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="suite overrides, as for `run`")
    p.add_argument("--model", required=True, help="a model's name (or adapter) in the suite")
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--seq-len", type=int, required=True)
    p.add_argument("--mode", default="forward", choices=MODES)
    p.add_argument("--dtype", choices=list(DTYPES), help="default: the suite's first perf dtype, else fp32")
    p.add_argument("--compile", action="store_true", help="torch.compile the model first")
    p.add_argument("--out", type=Path, metavar="RUN_DIR", help="run folder to write profile/ into (default: a new one)")
    p.set_defaults(func=main)


def _find_model(suite, name: str) -> tuple:
    """(model spec, task name, num_labels) for a model label or adapter name in the suite."""
    found = [(m, m.task, m.num_labels) for m in (suite.perf.models if suite.perf else [])]
    for task in suite.tasks:
        labels = task.dataset.labels
        found += [(m, task.task, len(labels) if labels else 2) for m in task.models]
    for wanted in ("label", "adapter"):
        for item in found:
            if getattr(item[0], wanted) == name:
                return item
    raise BadInput(unknown_name("--model", name, {m.label for m, *_ in found}))


def spec_from_args(suite, args, device: str) -> PerfCellSpec:
    from nlpbench.registry import get_adapter
    from nlpbench.suite.schema import adapter_config

    model, task, num_labels = _find_model(suite, args.model)
    perf = suite.perf
    dtype = args.dtype or (perf.dtypes[0] if perf else "fp32")
    if args.mode == "generate" and not get_task(task).generates:
        raise BadInput(f"--mode: generate needs a translation model; '{model.label}' is {task}")
    if args.batch_size < 1 or args.seq_len < 1:
        raise BadInput(f"--batch-size/--seq-len: allowed >= 1; given {args.batch_size}/{args.seq_len}")
    params = dataclasses.asdict(adapter_config(get_adapter(model.adapter), model.params))
    return PerfCellSpec.make(
        adapter=model.adapter, name=model.label, params=params, task=task, num_labels=num_labels,
        mode=args.mode, batch_size=args.batch_size, seq_len=args.seq_len, dtype=dtype, compile=args.compile,
        warmup=WARMUP, min_iters=ACTIVE, min_seconds=0.0, max_new_tokens=perf.max_new_tokens if perf else 32,
        device=device, seed=suite.seed,
    )  # fmt: skip


def main(args: argparse.Namespace) -> int:
    from nlpbench.env import resolve_device
    from nlpbench.store.results import new_run_dir
    from nlpbench.suite.schema import load_suite

    suite = load_suite(args.suite, args.overrides)
    spec = spec_from_args(suite, args, resolve_device(suite.device).type)
    run_dir = args.out or new_run_dir(f"{suite.name}-profile")
    trace = profile_cell(spec, Path(run_dir) / "profile" / _slug(spec.cell))
    print(f"trace: {trace}")
    print(f"view:  tensorboard --logdir {Path(run_dir) / 'profile'}")
    return 0
