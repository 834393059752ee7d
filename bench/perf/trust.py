"""Trust check: the harness's p50 against `torch.utils.benchmark.Timer.blocked_autorange()`.

    python -m nlpbench.perf.trust --adapter transformer            # forward, batch 8 x seq 128, CPU
    python -m nlpbench.perf.trust --adapter bert --rounds 5 --params '{"hidden_size": 256}'

Each round builds nothing new: the same model, batch and step function are
measured first by the harness (memory pass, FLOP pass, warm-up, timed loop:
exactly what a perf cell does) and right after by PyTorch's own Timer, with
the same thread count, in the same process. The ratio harness p50 / Timer
median should sit within `--tolerance` of 1 (exit 1 when the median ratio
over rounds does not). On a machine shared with other jobs, rounds drift
together; a bad round shows as one outlying ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch
from torch.utils.benchmark import Timer

from nlpbench.perf.cell import PerfCellSpec, build_adapter, measure
from nlpbench.perf.modes import MODES, make_workload
from nlpbench.perf.trackers import settle_gc
from nlpbench.registry import get_adapter


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m nlpbench.perf.trust", description=__doc__.split("\n\n")[0])
    ap.add_argument("--adapter", default="dummy")
    ap.add_argument("--params", default="{}", help="adapter params as JSON")
    ap.add_argument("--task", help="default: the adapter's first task")
    ap.add_argument("--mode", default="forward", choices=MODES)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--min-seconds", type=float, default=1.0, help="for both the harness loop and the Timer")
    ap.add_argument("--min-iters", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=4, help="an even number balances which side goes first")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tolerance", type=float, default=0.03)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice, as in a run)")
    return ap.parse_args(argv)


def make_spec(args: argparse.Namespace) -> PerfCellSpec:
    task = args.task or get_adapter(args.adapter).tasks[0]
    spec = PerfCellSpec.make(
        cell=f"trust/{args.adapter}/{args.mode}/b{args.batch_size}/s{args.seq_len}", adapter=args.adapter,
        params=json.loads(args.params), task=task, mode=args.mode, batch_size=args.batch_size, seq_len=args.seq_len,
        min_iters=args.min_iters, min_seconds=args.min_seconds, device=args.device,
    )  # fmt: skip
    return spec


def one_round(spec: PerfCellSpec, adapter, work, timer_first: bool = False) -> tuple[float, float]:
    """(harness p50 ms, Timer median ms), measured back to back.

    Rounds alternate which goes first, so a machine that drifts in speed (a
    shared VM, turbo decay) biases neither side."""

    def harness() -> float:
        return measure(spec, adapter, work)["latency"].p50

    def timer() -> float:
        t = Timer(stmt="step()", globals={"step": work.step}, num_threads=torch.get_num_threads())
        with work.context():
            return t.blocked_autorange(min_run_time=spec.min_seconds).median * 1e3

    if timer_first:
        t = timer()
        return harness(), t
    h = harness()
    return h, timer()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = make_spec(args)
    adapter, batch = build_adapter(spec)
    work = make_workload(adapter, batch, spec.mode, spec.dtype, spec.max_new_tokens)
    settle_gc()
    print(f"{spec.cell}: {torch.get_num_threads()} threads, device {spec.device}, torch {torch.__version__}")
    ratios = []
    for r in range(args.rounds):
        harness, timer = one_round(spec, adapter, work, timer_first=bool(r % 2))
        ratios.append(harness / timer)
        print(
            f"round {r + 1}: harness p50 {harness:.5g} ms | Timer.blocked_autorange median {timer:.5g} ms | ratio {ratios[-1]:.4f}"
        )
    ratio = statistics.median(ratios)
    verdict = "within" if abs(ratio - 1) <= args.tolerance else "OUTSIDE"
    print(
        f"ratio (harness p50 / Timer median), median of {len(ratios)} rounds: {ratio:.4f} — {verdict} ±{args.tolerance:.0%}"
    )
    return 0 if verdict == "within" else 1


if __name__ == "__main__":
    sys.exit(main())
