"""A suite's `perf:` section as a list of perf cells, handed to the sweep in `nlpbench.perf`.

Models come from `perf.models` when given, else from every task of the suite.
`generate` cells exist only for translation models. A model trained in this run
is timed as trained (its vocabulary and weights: nlpbench.perf.pairing). Cell ids (nlpbench.perf.cell.perf_cell_id):
`perf/<model>/<mode>/<dtype>[+compile]/b<batch>/s<seq>`; generate cells of a
model with `beam_size` k > 1 say `generate+beam<k>`.
"""
from __future__ import annotations

import dataclasses

from nlpbench.perf.pairing import pair, paired_params
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import adapter_config, train_config
from nlpbench.tasks import get_task


def perf_models(suite, data) -> list[tuple]:
    """(model spec, perf name, task name, num_labels, task label) for every model in the perf grid
    (task label None for `perf.models`, which are not trained).

    Models from the tasks keep their label; the same label in two tasks of
    different kinds (a transformer classifier and translator) becomes `label@task`."""
    if suite.perf.models:
        return [(m, m.label, m.task, m.num_labels, None) for m in suite.perf.models]
    seen: dict[str, tuple] = {}
    out = []
    for task, td in zip(suite.tasks, data):
        for m in task.models:
            key = (m.adapter, repr(m.params), task.task)
            name = m.label if seen.get(m.label, key) == key else f"{m.label}@{task.label}"
            if name not in {n for _, n, *_ in out}:
                seen.setdefault(m.label, key)
                out.append((m, name, task.task, td.num_labels, task.label))
    return out


def check_perf(suite, data) -> None:
    """Refuses, before anything runs, cells that could not be measured as labelled (exit 2, every problem)."""
    from nlpbench.perf.compiling import check_generate_compile

    p = suite.perf
    if p is None:
        return
    problems = position_problems(suite, data)
    if "generate" in p.modes and True in p.compiles:
        for model, name, task, *_ in perf_models(suite, data):
            if get_task(task).generates:
                problems += check_generate_compile(get_adapter(model.adapter), name, "perf.compile")
    if problems:
        from nlpbench.errors import BadInput

        raise BadInput(problems)


def position_problems(suite, data) -> list[str]:
    """Perf lengths beyond what a model can take (its adapter's `max_positions` hook, e.g. a learned position
    table): one line per model and mode, instead of an IndexError recorded for each cell."""
    from nlpbench.adapter import hook
    from nlpbench.errors import BadInput

    p, problems = suite.perf, []
    for model, name, task, *_ in perf_models(suite, data):
        cls = get_adapter(model.adapter)
        limit_of = hook(cls, "max_positions")
        try:
            limit = limit_of(adapter_config(cls, model.params)) if limit_of else None
        except BadInput:  # bad params are the schema stage's lines
            continue
        if limit is None:
            continue
        for mode in p.modes:
            if mode == "generate" and not get_task(task).generates:
                continue
            key = f"perf.limits.{mode}.seq_lens" if mode in p.limits and p.limits[mode].seq_lens else "perf.seq_lens"
            long = [s for s in p.grid(mode)[1] if s > limit]
            if long:
                problems.append(f"{key}: {name} ({model.adapter}) takes at most {limit} positions; {mode} at seq_len "
                                f"{', '.join(map(str, long))} can't run (drop them, or give {mode} its own "
                                f"perf.limits.{mode}.seq_lens)")  # fmt: skip
            if mode == "generate" and p.max_new_tokens + 1 > limit:  # the decoder's positions: BOS + new tokens
                problems.append(f"perf.max_new_tokens: {name} ({model.adapter}) takes at most {limit} positions; "
                                f"allowed <= {limit - 1}; given {p.max_new_tokens}")
    return list(dict.fromkeys(problems))


def perf_specs(ctx, data) -> list:
    from nlpbench.perf import PerfCellSpec

    p = ctx.suite.perf
    specs = []
    for model, name, task, num_labels, task_label in perf_models(ctx.suite, data):
        params = dataclasses.asdict(adapter_config(get_adapter(model.adapter), model.params))
        paired = pair(ctx, task_label, model.label) if task_label is not None else None
        params = paired_params(params, paired)
        tcfg = train_config(get_adapter(model.adapter), model.train)  # train_step mirrors the trainer's update
        train = {k: getattr(tcfg, k) for k in ("weight_decay", "clip_norm", "schedule", "warmup")}
        for mode in p.modes:
            if mode == "generate" and not get_task(task).generates:
                continue
            batch_sizes, seq_lens = p.grid(mode)
            for dtype in p.dtypes:
                for compiled in p.compiles:
                    for seq in seq_lens:
                        for batch in batch_sizes:
                            specs.append(PerfCellSpec.make(
                                adapter=model.adapter, name=name, params=params, task=task,
                                num_labels=num_labels, mode=mode, batch_size=batch, seq_len=seq,
                                dtype=dtype, compile=compiled, warmup=p.warmup, min_iters=p.min_iters,
                                min_seconds=p.min_seconds, max_new_tokens=p.max_new_tokens,
                                device=ctx.device.type, seed=ctx.seed, peak_gflops=ctx.peak_gflops,
                                weights=paired and paired.weights, quality_cell=paired and paired.quality_cell,
                                train=train,
                            ))  # fmt: skip
    return specs
