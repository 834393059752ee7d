"""One perf cell: build the adapter, measure memory, FLOPs and latency, return the record fields.

Order inside a cell (each pass separate, so no measurement disturbs another):
1. build the model (seeded, trained weights when paired) and a fixed synthetic batch;
2. `compile=True`: `torch.compile` what the step calls (nlpbench.perf.compiling:
   the model, and for generate the decoding methods) and run one step (compile time
   reported as `compile_s`, never inside the timed loop); else one eager
   warm-up step. Either way the runtime is warm (thread pools, kernel caches,
   first-step allocations such as AdamW's state) before memory is measured;
3. memory pass: one step under `track_memory`, above what step 2 left in use
   (nlpbench.perf.footprint: weights, optimizer state, activations apart);
4. FLOP pass: one step of the eager model under `FlopCounterMode` (also the
   second warm-up step, unless compiled: eager steps do not warm compiled code);
5. the remaining warm-up steps, then the timed loop until both `min_iters` and
   `min_seconds` hold (generate: a second loop for 1 token).

`timed_s` sums the time of the steps themselves (warm-up and timed), so run
wall time minus it is the harness's own overhead.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import torch

from nlpbench.adapter import TaskInfo, adapter_config, checkpoint_fields, n_params
from nlpbench.errors import BadInput, error_message, is_oom
from nlpbench.metrics.stats import compact
from nlpbench.perf.compiling import compile_model, compiled_frames, eager
from nlpbench.perf.flops import track_flops
from nlpbench.perf.footprint import memory_fields, weight_bytes
from nlpbench.perf.modes import make_workload
from nlpbench.perf.probe import raise_peak, worker_peak
from nlpbench.perf.timing import timing_fields
from nlpbench.perf.trackers import cpu_baseline, measure_latency, settle_gc, track_memory
from nlpbench.store.records import utc_now
from nlpbench.tasks import get_task

MEMORY_PASSES = 1  # memory is the median of this many steps (they count as warm-up steps); the allocator's is exact
THREADS_ENV = "NLPBENCH_TORCH_THREADS"  # the process launcher's thread count for its children


def perf_cell_id(name: str, mode: str, dtype: str, compiled: bool, batch: int, seq: int, beam: int = 1) -> str:
    """`perf/<model>/<mode>/<dtype>[+compile]/b<batch>/s<seq>`; beam search does k times the work: `generate+beam<k>`."""
    mode = f"{mode}+beam{beam}" if mode == "generate" and beam > 1 else mode
    return f"perf/{name}/{mode}/{dtype}{'+compile' if compiled else ''}/b{batch}/s{seq}"


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
    peak_gflops: float | None = None  # the run's probe (run.json); records use their own worker's (nlpbench.perf.probe)
    imports: tuple[str, ...] = ()  # modules to import first (e.g. ones registering extra adapters)
    threads: int | None = None  # torch intra-op threads for this cell (None: the process's setting)
    weights: str | None = None  # a state-dict file to load (the trained model this cell times), or None
    quality_cell: str | None = None  # the quality unit (quality/<task>/<model>) this cell's model was trained in
    train: dict | None = None  # the model's resolved train settings (train_step mirrors the trainer's update)
    keep_samples: bool = False  # the record carries raw latency samples (for pooling rounds)
    compile_backend: str = "inductor"  # torch.compile backend (tests use "eager": dynamo capture without codegen)

    @classmethod
    def make(cls, *, adapter: str, params: dict, task: str, mode: str, batch_size: int, seq_len: int,
             name: str | None = None, cell: str | None = None, dtype: str = "fp32", compile: bool = False,
             num_labels: int | None = 2, warmup: int = 3, min_iters: int = 10, min_seconds: float = 1.0,
             max_new_tokens: int = 32, device: str = "cpu", seed: int = 0, **extra) -> PerfCellSpec:
        """The one way a spec is built (runs, `nlpbench profile`, `nlpbench.perf.trust`): the cell id and the
        label count follow from the rest (a task that generates has no labels), so the three can't disagree."""
        name = name or adapter
        cell = cell or perf_cell_id(name, mode, dtype, compile, batch_size, seq_len, params.get("beam_size", 1))
        num_labels = None if get_task(task).generates else num_labels
        return cls(cell=cell, adapter=adapter, name=name, params=params, task=task, num_labels=num_labels, mode=mode,
                   batch_size=batch_size, seq_len=seq_len, dtype=dtype, compile=compile, warmup=warmup,
                   min_iters=min_iters, min_seconds=min_seconds, max_new_tokens=max_new_tokens, device=device,
                   seed=seed, **extra)  # fmt: skip

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


def adapter_class(spec: PerfCellSpec) -> type:
    from nlpbench.registry import get_adapter

    for mod in spec.imports:
        import_module(mod)
    return get_adapter(spec.adapter)


def build_adapter(spec: PerfCellSpec):
    """The adapter (model built at its config's vocab size, no data) and its seeded synthetic batch."""
    cls = adapter_class(spec)
    config = adapter_config(cls, spec.params)
    device = torch.device(spec.device)
    info = TaskInfo(
        task=spec.task, num_labels=spec.num_labels, device=device, dtype=spec.dtype, seed=spec.seed, progress=False
    )
    torch.manual_seed(spec.seed)
    adapter = cls(config, info)
    adapter.setup(None)
    if spec.weights:
        load_weights(adapter, spec.weights)
    batch = adapter.synthetic_batch(spec.batch_size, spec.seq_len, torch.Generator().manual_seed(spec.seed))
    return adapter, batch


def load_weights(adapter, path: str) -> None:
    """Loads a trained state dict; strict, so a different architecture fails loudly rather than timing another model."""
    if not Path(path).is_file():
        raise BadInput(f"weights: {path} does not exist on this machine (the trained model this perf cell times)")
    adapter.model.load_state_dict(torch.load(path, map_location=adapter.info.device, weights_only=True))


def compile_cell(adapter, work, mode: str = "forward", backend: str = "inductor") -> float:
    """Compiles what the step calls in place and runs one step; returns the seconds it took."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()  # a fresh cache per cell: earlier shapes must not count toward the recompile limit
    counters.clear()  # compiled_frames() then counts this cell's frames only
    compile_model(adapter, mode, backend)
    t0 = time.perf_counter()
    with work.context():
        work.step()
    sync(adapter.info.device)
    return time.perf_counter() - t0


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _memory_pass(spec: PerfCellSpec, work, baseline: int | None):
    """`MEMORY_PASSES` steps, each under its own memory tracker; returns (the median Memory, seconds they took)."""
    results, took = [], 0.0
    for _ in range(MEMORY_PASSES):
        with track_memory(spec.device, baseline) as mem, work.context():
            t0 = time.perf_counter()
            work.step()
            sync(spec.device)
            took += time.perf_counter() - t0
        results.append(mem.result)
    return sorted(results, key=lambda r: r.peak_mb)[len(results) // 2], took


def _flop_pass(spec: PerfCellSpec, adapter, work):
    """FLOPs of one step, counted on the eager model (same work as compiled, and countable); (Work, seconds)."""
    with eager(adapter), track_flops() as counted, work.context():
        t0 = time.perf_counter()
        work.step()
        sync(spec.device)
        took = time.perf_counter() - t0
    return counted.result, took


def _warm_step(spec: PerfCellSpec, work) -> float:
    with work.context():
        t0 = time.perf_counter()
        work.step()
        sync(spec.device)
        return time.perf_counter() - t0


def measure(spec: PerfCellSpec, adapter, work, warm: bool = True) -> dict:
    """Warm step, memory and FLOP passes, warm-up, timed loops; `timed_s` is the seconds spent running steps.

    `warm=False`: the caller already ran steps (compiling does; torchrun sizes its loop).
    """
    out = prepare(spec, adapter, work, warm)
    loops = time_loops(spec, work, spec.min_iters, spec.min_seconds)
    out["timed_s"] += loops.pop("timed_s")
    return {**out, **loops}


def prepare(spec: PerfCellSpec, adapter, work, warm: bool = True) -> dict:
    """Everything before the timed loops, once per cell (rounds reuse it: nlpbench.perf.warm):
    warm step, memory and FLOP passes, the rest of the warm-up. {"memory", "flops", "timed_s"}.

    The warm step, the memory pass and (without compile) the FLOP pass run the
    real step, so they are the first warm-up steps: `warmup` counts them.
    """
    out = {}
    timed = _warm_step(spec, work) if warm else 0.0
    # RSS once the runtime is warm: one-off process costs never land in a cell's activations
    baseline = cpu_baseline() if torch.device(spec.device).type == "cpu" else None
    out["memory"], took = _memory_pass(spec, work, baseline)
    timed += took
    out["flops"], took = _flop_pass(spec, adapter, work)
    # an eager FLOP pass does not warm compiled code
    warmed = (1 if warm else 0) + MEMORY_PASSES + (0 if spec.compile else 1)
    timed += 0.0 if spec.compile else took
    with work.context():
        t0 = time.perf_counter()
        for _ in range(max(0, spec.warmup - warmed)):
            work.step()
        if work.first_token is not None:
            work.first_token()  # warms the 1-token length too
        sync(spec.device)
        timed += time.perf_counter() - t0
    out["timed_s"] = timed
    return out


def time_loops(spec: PerfCellSpec, work, min_iters: int, min_seconds: float) -> dict:
    """The timed loop until both rules hold (generate: then the 1-token loop); {"latency", "first"?, "timed_s"}."""
    out = {}
    with work.context():
        out["latency"], out["timed_s"] = measure_latency(work.step, spec.device, min_iters, min_seconds)
        if work.first_token is not None:
            out["first"], wall = measure_latency(work.first_token, spec.device, min_iters, min_seconds)
            out["timed_s"] += wall
    return out


@contextmanager
def cell_threads(spec: PerfCellSpec):
    """The cell's torch thread count while inside (`spec.threads`; None: the process's), restored on exit."""
    threads = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def open_cell(spec: PerfCellSpec) -> tuple:
    """Builds, compiles (when asked) and prepares a cell: (adapter, work, measurements so far)."""
    adapter_class(spec)  # imports (transformers, ...) happen first, so they never count
    settle_gc()
    adapter, batch = build_adapter(spec)
    work = make_workload(adapter, batch, spec.mode, spec.dtype, spec.max_new_tokens, spec.train)
    compile_s = compile_cell(adapter, work, spec.mode, spec.compile_backend) if spec.compile else None
    m = prepare(spec, adapter, work, warm=not spec.compile)
    m["compile_s"] = compile_s
    m["compiled_frames"] = compiled_frames() if spec.compile else None
    m["weights"], m["state"] = weight_bytes(adapter.model), work.state_bytes()
    return adapter, work, m


def run_perf_cell(spec: PerfCellSpec) -> dict:
    """Runs one cell; returns its record fields (status ok). Raises on failure (see `run_cell_safely`)."""
    started, t_start = utc_now(), time.perf_counter()
    with cell_threads(spec):
        adapter, work, m = open_cell(spec)
        loops = time_loops(spec, work, spec.min_iters, spec.min_seconds)
        m["timed_s"] += loops.pop("timed_s")
        rec = cell_record(spec, {**m, **loops}, n_params(adapter.model))
    rec.update(compile_s=m["compile_s"], started_at=started, wall_s=time.perf_counter() - t_start,
               **checkpoint_fields(adapter))  # the pretrained checkpoint timed, where the adapter loaded one
    return rec


def tokens_per_row(spec: PerfCellSpec) -> int:
    """Tokens one example puts through the model (the task's rule: `Task.tokens_per_row`)."""
    return get_task(spec.task).tokens_per_row(spec)


def cell_record(spec: PerfCellSpec, m: dict, params: int) -> dict:
    lat, mem, counted = m["latency"], m["memory"], m["flops"]
    # peak: a probe in this worker, at this dtype and thread count, median to median (nlpbench.perf.probe)
    peak = worker_peak(spec.device, spec.dtype) if counted.flops else {}
    rec = base_record(spec, "ok")
    rec.update(
        **timing_fields(spec.batch_size, tokens_per_row(spec), lat, m.get("first"), spec.max_new_tokens,
                        counted.flops, peak.get("gflops"), peak.get("source")),  # fmt: skip
        **memory_fields(mem, m.get("weights", 0), m.get("state", 0)),
        latency_samples_ms=compact(lat.samples_ms),  # for the gate's bootstrap of the ratio of medians
        memory_kind=mem.kind,
        memory_method=mem.method,
        flops=counted.flops or None,
        flops_complete=counted.complete,  # false: some matmul/attention/RNN op had no formula (named below)
        flops_uncounted=counted.uncounted,
        timed_s=m["timed_s"],
        n_params=params,
        threads=torch.get_num_threads(),
        quality_cell=spec.quality_cell,  # null: not paired with a trained model (standalone perf or training failed)
        vocab_size=spec.params.get("vocab_size"),  # the vocabulary this model was built with
        vocab_source="trained" if spec.weights else "config",
        compiled_frames=m.get("compiled_frames"),  # dynamo frames compiled for this cell (compile: true)
        tokens_per_sample=tokens_per_row(spec),  # what tokens_per_s counts (translation: source + target)
    )
    if peak:
        rec["peak_ceiling_gflops"] = (peak.get("ceiling") or {}).get("gflops")  # None: unknown (nlpbench.perf.ceiling)
        raise_peak(spec.device, spec.dtype, rec.get("achieved_gflops"), spec.cell)  # later cells' denominator
    if spec.mode == "generate":
        rec["beam_size"] = spec.params.get("beam_size", 1)
    if mem.reserved_mb is not None:
        rec["peak_reserved_mb"] = mem.reserved_mb
    if spec.keep_samples:  # rounds pool these (nlpbench.perf.rounds), then drop them
        rec["_samples_ms"] = lat.samples_ms
        if "first" in m:
            rec["_first_samples_ms"] = m["first"].samples_ms
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


def run_cell_safely(spec: PerfCellSpec) -> dict:
    """`run_perf_cell`, with a failure turned into a record: status `oom` or `error` plus the message."""
    started, t0 = utc_now(), time.perf_counter()
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

