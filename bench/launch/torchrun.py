"""`launcher: torchrun`: a `train_step` cell under DistributedDataParallel across `nproc` processes.

Per train_step cell, in this order, each in fresh interpreters:
1. the single-process reference: the same cell under the `process` launcher,
   with the thread count one rank gets;
2. `python -m torch.distributed.run --standalone --nproc-per-node N -m nlpbench.launch.torchrun SPEC OUT`:
   every rank builds the same seeded model and batch (`batch_size` is per rank,
   so the global batch is N x batch_size), wraps the adapter's loss in DDP
   (gloo on CPU, NCCL on CUDA, one GPU per rank) and times the real step:
   loss, backward with gradient all-reduce, AdamW step.

The record is rank 0's, with `throughput` the aggregate (N x batch_size over
the slowest rank's median step), `ranks` (each rank's median and memory),
`single_process` (the reference), and
`scaling_efficiency = aggregate samples/s / (N x single-process samples/s)`.

DDP wraps a small module whose forward is the adapter's own `loss`, so the
all-reduce hooks fire for any adapter, also ones that call submodules of
`adapter.model` directly. Ranks must run the same number of steps (each
waits for the others in the all-reduce), so the timed loop's length is agreed
up front: `max` over ranks of what `min_iters`/`min_seconds` ask for, from
two extra warm-up steps. `forward` and `generate` cells have no gradients to
reduce: they run inline, and their record says `launcher: inline`.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from nlpbench.adapter import n_params
from nlpbench.errors import error_message, is_oom
from nlpbench.launch.process import child_env, exit_reason
from nlpbench.perf.cell import (
    PerfCellSpec,
    adapter_class,
    base_record,
    build_adapter,
    cell_record,
    compile_cell,
    measure,
    run_cell_safely,
    sync,
    tokens_per_row,
)
from nlpbench.perf.footprint import weight_bytes
from nlpbench.perf.modes import make_workload
from nlpbench.perf.trackers import settle_gc
from nlpbench.store.records import utc_now


def run_torchrun(spec: PerfCellSpec, run_in_process, timeout_s: float | None = None, nproc: int = 2) -> dict:
    """One cell: train_step under DDP on `nproc` processes plus its 1-process reference (`run_in_process`:
    (spec, timeout_s) -> record, the process launcher's); others inline."""
    if spec.mode != "train_step":
        return {**run_cell_safely(spec), "launcher": "inline"}
    t0 = time.perf_counter()
    spec = dataclasses.replace(spec, threads=spec.threads or max(1, torch.get_num_threads() // nproc))
    single = run_in_process(spec, timeout_s)
    if single["status"] != "ok":
        return {**single, "launcher": "torchrun", "error": f"single-process reference: {single.get('error')}"}
    rec = run_ranks(spec, nproc, timeout_s)
    if rec["status"] == "ok":
        rec = combine(spec, rec["ranks"], single)
    rec.update(started_at=single.get("started_at"), wall_s=time.perf_counter() - t0, launcher="torchrun", nproc=nproc)
    return rec


def run_ranks(spec: PerfCellSpec, nproc: int, timeout_s: float | None) -> dict:
    """Runs the DDP cell under torchrun; an ok record holds `ranks` (each rank's record), else the failure."""
    with tempfile.TemporaryDirectory(prefix="nlpbench-ddp-") as tmp:
        spec_path = Path(tmp, "spec.json")
        spec_path.write_text(spec.to_json())
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
               f"--nproc-per-node={nproc}", "-m", "nlpbench.launch.torchrun", str(spec_path), tmp]  # fmt: skip
        # a session of its own, so a timeout can stop the agent and every rank at once
        proc = subprocess.Popen(cmd, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, errors="replace", start_new_session=True)  # fmt: skip
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return base_record(spec, "error", f"torchrun cell timed out after {timeout_s:g} s")
        ranks = [json.loads(p.read_text()) for p in sorted(Path(tmp).glob("rank*.json"))]
    failed = [r for r in ranks if r["status"] != "ok"]
    if failed:  # a rank's own record says what went wrong (oom, error)
        return {**failed[0], "error": f"rank {failed[0]['rank']}: {failed[0].get('error')}"}
    if len(ranks) != nproc:
        lines = [ln for ln in stderr.splitlines() if "Error" in ln or "error" in ln][-2:]
        tail = " | ".join(ln.strip() for ln in lines)
        reason = exit_reason(proc.returncode).replace("cell process", "torchrun")
        return base_record(spec, "error", reason + (f"; stderr: {tail}" if tail else ""))
    return {"status": "ok", "ranks": ranks}


def combine(spec: PerfCellSpec, ranks: list[dict], single: dict) -> dict:
    """Rank 0's record with aggregate throughput and scaling efficiency against the single process."""
    n = len(ranks)
    slowest_s = max(r["latency_ms"]["p50"] for r in ranks) / 1e3  # every step waits for the slowest rank
    samples = n * spec.batch_size / slowest_s
    one = single["throughput"]["samples_per_s"]
    rec = dict(ranks[0])
    rec.pop("rank")
    rec.pop("peak_fraction", None)  # the probed peak is one process's, not N's
    rec.pop("peak_gflops", None)
    rec.pop("peak_source", None)
    rec.pop("probe_gflops", None)
    rec.update(
        throughput={"samples_per_s": samples, "tokens_per_s": samples * tokens_per_row(spec)},
        global_batch_size=n * spec.batch_size,
        achieved_gflops=n * rec["flops"] / slowest_s / 1e9 if rec.get("flops") else None,
        flops=n * rec["flops"] if rec.get("flops") else None,  # one global step: every rank's work
        noisy=any(r["noisy"] for r in ranks),
        ranks=[{"rank": r["rank"], "latency_p50_ms": r["latency_ms"]["p50"], "peak_memory_mb": r["peak_memory_mb"]}
               for r in ranks],  # fmt: skip
        single_process={k: single[k] for k in ("latency_ms", "throughput", "peak_memory_mb", "threads")},
        scaling_efficiency=samples / (n * one),
    )
    return rec


# --- inside each rank ----------------------------------------------------------


class _LossModule(nn.Module):
    """`forward(batch)` is the adapter's loss, so DDP sees (and syncs) the whole loss computation."""

    def __init__(self, model: nn.Module, loss):
        super().__init__()
        self.model, self._loss = model, loss

    def forward(self, batch):
        return self._loss(batch)


def wrap_ddp(adapter, device: torch.device) -> None:
    """Routes `adapter.loss` through DDP (the adapter's own loss runs inside)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    ddp = DDP(_LossModule(adapter.model, adapter.loss), device_ids=ids)
    adapter.loss = ddp  # an instance attribute shadows the method: the workload's step calls DDP


def agree_iters(spec: PerfCellSpec, work, device: torch.device) -> PerfCellSpec:
    """The spec with a fixed timed-loop length every rank agrees on (from each rank's second step's time)."""
    with work.context():
        for _ in range(2):  # the first step allocates (AdamW state, DDP buckets): too slow to size the loop
            t0 = time.perf_counter()
            work.step()
            sync(device)
            took = time.perf_counter() - t0
    want = max(spec.min_iters, math.ceil(spec.min_seconds / max(took, 1e-6)))
    n = torch.tensor([want], device=device)
    dist.all_reduce(n, op=dist.ReduceOp.MAX)
    return dataclasses.replace(spec, min_iters=int(n.item()), min_seconds=0.0)


def rank_cell(spec: PerfCellSpec, local_rank: int) -> dict:
    """This rank's share of the cell: the `run_perf_cell` steps with the loss under DDP."""
    started, t_start = utc_now(), time.perf_counter()
    torch.set_num_threads(spec.threads or torch.get_num_threads())
    cuda = spec.device == "cuda"
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)  # "cuda" in the spec now means this rank's GPU
    adapter_class(spec)
    settle_gc()
    adapter, batch = build_adapter(spec)
    wrap_ddp(adapter, device)
    work = make_workload(adapter, batch, spec.mode, spec.dtype, spec.max_new_tokens, spec.train)
    compile_s = compile_cell(adapter, work) if spec.compile else None
    fixed = agree_iters(spec, work, device)
    m = measure(fixed, adapter, work, warm=False)  # agree_iters ran two steps: warm
    m["weights"], m["state"] = weight_bytes(adapter.model), work.state_bytes()
    rec = cell_record(fixed, m, n_params(adapter.model))
    rec.update(compile_s=compile_s, started_at=started, wall_s=time.perf_counter() - t_start)
    rec["backend"] = dist.get_backend()
    return rec


def main(argv: list[str] | None = None) -> int:
    """A rank's entry point (torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR/PORT)."""
    spec_path, out_dir = (argv if argv is not None else sys.argv[1:])[:2]
    spec = PerfCellSpec.from_json(Path(spec_path).read_text())
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    gc.freeze()
    dist.init_process_group("nccl" if spec.device == "cuda" else "gloo")
    try:
        rec = rank_cell(spec, local_rank)
    except Exception as e:  # noqa: BLE001  (written down; torchrun then stops the other ranks)
        rec = base_record(spec, "oom" if is_oom(e) else "error", error_message(e))
    rec["rank"] = rank
    Path(out_dir, f"rank{rank:05d}.json").write_text(json.dumps(rec))
    if rec["status"] != "ok":
        return 1
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
