"""One perf cell: build the adapter, measure memory, FLOPs and latency, return the record fields.

Order inside a cell (each pass separate, so no measurement disturbs another):
1. CPU baseline RSS, then build the model (seeded) and a fixed synthetic batch;
2. `compile=True`: `torch.compile` the model and run one step (compile time
   reported as `compile_s`, never inside the timed loop);
3. memory pass: one step under `track_memory` (also the first warm-up step,
   so it sees first-step allocations such as AdamW's state);
4. FLOP pass: one step of the eager model under `FlopCounterMode` (also the
   second warm-up step, unless compiled: eager steps do not warm compiled code);
5. the remaining warm-up steps, then the timed loop until both `min_iters` and
   `min_seconds` hold (generate: a second loop for 1 token).

`timed_s` sums the time of the steps themselves (warm-up and timed), so run
wall time minus it is the harness's own overhead.

`python -m bench.perf.cell SPEC.json OUT.json` runs one cell in this
interpreter and writes its record: what the `process` launcher spawns.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import torch

from bench.adapter import TaskInfo, n_params
from bench.errors import BadInput
from bench.perf.modes import make_workload
from bench.stats import compact
from bench.perf.trackers import cpu_baseline, measure_latency, settle_gc, track_flops, track_memory

THREADS_ENV = "NLPBENCH_TORCH_THREADS"  # the process launcher's thread count for its children


@dataclass
class PerfCellSpec:
    """Everything a fresh process needs to run one cell (picklable, JSON-able)."""

    cell: str
    adapter: str
    name: str
    params: dict
    task: str
    num_labels: int | None
    mode: str
    batch_size: int
    seq_len: int
    dtype: str
    compile: bool
    warmup: int
    min_iters: int
    min_seconds: float
    max_new_tokens: int
    device: str  # "cpu" | "cuda"
    seed: int
    peak_gflops: float | None = None  # this machine's probed matmul peak -> peak_fraction
    imports: tuple[str, ...] = ()  # modules to import first (e.g. ones registering extra adapters)
    threads: int | None = None  # torch intra-op threads for this cell (None: the process's setting)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PerfCellSpec:
        d = json.loads(text)
        d["imports"] = tuple(d.get("imports", ()))
        return cls(**d)

    @property
    def group(self) -> tuple:
        """Cells that differ only in batch size: an OOM in one skips the larger ones."""
        return (self.task, self.name, self.mode, self.seq_len, self.dtype, self.compile, self.device)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # the runner's format


def adapter_class(spec: PerfCellSpec) -> type:
    from bench.registry import get_adapter

    for mod in spec.imports:
        import_module(mod)
    return get_adapter(spec.adapter)


def build_adapter(spec: PerfCellSpec):
    """The adapter (model built at its config's vocab size, no data) and its seeded synthetic batch."""
    from bench.config import adapter_config  # validated like the suite's params (nested configs included)

    cls = adapter_class(spec)
    config = adapter_config(cls, spec.params)
    device = torch.device(spec.device)
    info = TaskInfo(
        task=spec.task, num_labels=spec.num_labels, device=device, dtype=spec.dtype, seed=spec.seed, progress=False
    )
    torch.manual_seed(spec.seed)
    adapter = cls(config, info)
    adapter.setup(None)
    batch = adapter.synthetic_batch(spec.batch_size, spec.seq_len, torch.Generator().manual_seed(spec.seed))
    return adapter, batch


def _compile(adapter, work) -> float:
    """Compiles the model in place and runs one step; returns the seconds it took."""
    torch._dynamo.reset()  # a fresh cache per cell: earlier shapes must not count toward the recompile limit
    adapter.model = torch.compile(adapter.model)
    t0 = time.perf_counter()
    with work.context():
        work.step()
    _sync(adapter.info.device)
    return time.perf_counter() - t0


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _memory_pass(spec: PerfCellSpec, work, baseline: int | None):
    """One step under the memory tracker; returns (Memory, seconds the step took)."""
    with track_memory(spec.device, baseline) as mem, work.context():
        t0 = time.perf_counter()
        work.step()
        _sync(spec.device)
        took = time.perf_counter() - t0
    return mem.result, took


def _flop_pass(spec: PerfCellSpec, adapter, work) -> tuple[int, float]:
    """FLOPs of one step, counted on the eager model (same work as compiled, and countable); (flops, seconds)."""
    compiled = adapter.model
    adapter.model = getattr(compiled, "_orig_mod", compiled)
    try:
        with track_flops() as counted, work.context():
            t0 = time.perf_counter()
            work.step()
            _sync(spec.device)
            took = time.perf_counter() - t0
    finally:
        adapter.model = compiled
    return counted.result.flops, took


def measure(spec: PerfCellSpec, adapter, work, baseline: int | None) -> dict:
    """Memory and FLOP passes, warm-up, timed loops; `timed_s` is the seconds spent running steps.

    The memory pass and (without compile) the FLOP pass run the real step, so
    they are the first warm-up steps: `warmup` counts them.
    """
    out = {}
    out["memory"], timed = _memory_pass(spec, work, baseline)
    out["flops"], took = _flop_pass(spec, adapter, work)
    warmed = 1 if spec.compile else 2  # an eager FLOP pass does not warm compiled code
    timed += 0.0 if spec.compile else took
    with work.context():
        t0 = time.perf_counter()
        for _ in range(max(0, spec.warmup - warmed)):
            work.step()
        if work.first_token is not None:
            work.first_token()  # warms the 1-token length too
        _sync(spec.device)
        timed += time.perf_counter() - t0
        out["latency"], wall = measure_latency(work.step, spec.device, spec.min_iters, spec.min_seconds)
        timed += wall
        if work.first_token is not None:
            out["first"], wall = measure_latency(work.first_token, spec.device, spec.min_iters, spec.min_seconds)
            timed += wall
    out["timed_s"] = timed
    return out


def run_perf_cell(spec: PerfCellSpec) -> dict:
    """Runs one cell; returns its record fields (status ok). Raises on failure (see `run_cell_safely`)."""
    started, t_start = _now(), time.perf_counter()
    threads = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        adapter_class(spec)  # imports (transformers, ...) happen before the baseline, so they never count
        settle_gc()
        # RSS before the model exists: the CPU peak then counts weights too, as CUDA's peak allocated does
        baseline = cpu_baseline() if torch.device(spec.device).type == "cpu" else None
        adapter, batch = build_adapter(spec)
        work = make_workload(adapter, batch, spec.mode, spec.dtype, spec.max_new_tokens)
        compile_s = _compile(adapter, work) if spec.compile else None
        m = measure(spec, adapter, work, baseline)
        rec = _record(spec, m, n_params(adapter.model))
    finally:
        torch.set_num_threads(threads)
    rec.update(compile_s=compile_s, started_at=started, wall_s=time.perf_counter() - t_start)
    return rec


def _record(spec: PerfCellSpec, m: dict, params: int) -> dict:
    lat, mem, flops = m["latency"], m["memory"], m["flops"]
    p50_s = lat.p50 / 1e3
    tokens = spec.batch_size * (spec.max_new_tokens if spec.mode == "generate" else spec.seq_len)
    rec = base_record(spec, "ok")
    rec.update(
        latency_ms=lat.summary(),
        latency_samples_ms=compact(lat.samples_ms),  # for the gate's bootstrap of the ratio of medians
        throughput={"samples_per_s": spec.batch_size / p50_s, "tokens_per_s": tokens / p50_s},
        peak_memory_mb=mem.peak_mb,
        memory_kind=mem.kind,
        memory_method=mem.method,
        flops=flops or None,
        achieved_gflops=(flops / p50_s / 1e9) if flops else None,
        noisy=lat.noisy,
        timed_s=m["timed_s"],
        n_params=params,
        threads=torch.get_num_threads(),
    )
    if mem.reserved_mb is not None:
        rec["peak_reserved_mb"] = mem.reserved_mb
    if spec.peak_gflops and rec["achieved_gflops"]:
        rec["peak_fraction"] = rec["achieved_gflops"] / spec.peak_gflops
    if "first" in m:
        t1, tn, n = m["first"].p50, lat.p50, spec.max_new_tokens
        # Two separate timing loops: if the one-token run is not faster than the N-token run, the
        # machine changed speed between them and the split into TTFT + per-token can't be trusted.
        inconsistent = n > 1 and tn <= t1
        rec.update(
            time_to_first_token_ms=t1, per_token_ms=(tn - t1) / (n - 1) if n > 1 else None,
            noisy=lat.noisy or m["first"].noisy or inconsistent,
        )  # fmt: skip
    return rec


def base_record(spec: PerfCellSpec, status: str, error: str | None = None) -> dict:
    rec = {
        "cell": spec.cell,
        "kind": "perf",
        "status": status,
        "mode": spec.mode,
        "batch_size": spec.batch_size,
        "seq_len": spec.seq_len,
        "dtype": spec.dtype,
        "compile": spec.compile,
    }
    if error is not None:
        rec["error"] = error
    return rec


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text  # also when torch.compile re-wraps it


def error_message(exc: BaseException, limit: int = 600) -> str:
    text = "; ".join(exc.problems) if isinstance(exc, BadInput) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_cell_safely(spec: PerfCellSpec) -> dict:
    """`run_perf_cell`, with a failure turned into a record: status `oom` or `error` plus the message."""
    started, t0 = _now(), time.perf_counter()
    try:
        return run_perf_cell(spec)
    except Exception as e:  # noqa: BLE001  (a failed cell must never end the sweep)
        rec = base_record(spec, "oom" if is_oom(e) else "error", error_message(e))
        rec.update(started_at=started, wall_s=time.perf_counter() - t0)
        return rec
    finally:
        release(spec)


def release(spec: PerfCellSpec) -> None:
    """Frees what a cell left behind so the next inline cell starts clean."""
    if spec.compile:
        torch._dynamo.reset()
    gc.collect()
    if torch.device(spec.device).type == "cuda":
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    spec_path, out_path = (argv if argv is not None else sys.argv[1:])[:2]
    spec = PerfCellSpec.from_json(Path(spec_path).read_text())
    if os.environ.get(THREADS_ENV):
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    gc.freeze()  # a fresh interpreter holds no garbage yet: skip the one slow full collection
    rec = run_cell_safely(spec)
    Path(out_path).write_text(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
