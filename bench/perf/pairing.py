"""Pairs a perf cell with the quality cell it stands beside: the same architecture, the same weights.

A perf cell builds its adapter without data (`setup(None)`), so vocabularies
come from the config — not from the tokenizer training actually produced. In a
suite with quality tasks that would time a different model from the one
scored (the quick suite's lstm: 72k trained parameters, 2M at config size).
So for a model trained in this run the perf spec gets:

- `params.vocab_size` = the trained tokenizer's size (what `setup(train)` built
  the model with), so `n_params` equals the quality record's;
- `weights` = the trained weights (the best-on-validation checkpoint training
  wrote to `checkpoints/<task>-<model>.pt`, or the final weights saved there
  when there was no validation split), loaded strictly into the perf model;
- `quality_cell` = the training unit `quality/<task>/<model>` whose records
  (`quality_cell/<split>`) the perf record belongs to.

The source is `Context.trained` (adapters trained in this process) and, for
units a `--resume` skipped, their records (`vocab_size`, `n_params`) and
checkpoint. Standalone perf suites (`perf.models`) keep config sizes; every
perf record states the vocabulary it assumed (`vocab_size`, `vocab_source`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from nlpbench.adapter import vocab_size
from nlpbench.quality.ids import unit_id
from nlpbench.quality.trained import checkpoint_path, first_seed  # where nlpbench.quality.score's fit saves


def trained_vocab_size(adapter) -> int | None:
    """The size of the vocabulary an adapter's trained tokenizer built (tokenizers or transformers), or None."""
    return vocab_size(adapter)  # the `tokenizer` hook, read in nlpbench.adapter


@dataclass
class Pairing:
    quality_cell: str
    vocab_size: int | None
    weights: str | None
    n_params: int | None


def pair(ctx, task_label: str, model_label: str) -> Pairing | None:
    """The trained model a perf cell must reproduce, or None when it was not trained (or failed)."""
    unit = unit_id(task_label, model_label)
    ckpt = checkpoint_path(ctx.run_dir, task_label, model_label, first_seed(ctx.suite))
    adapter = ctx.trained.get((task_label, model_label))
    if adapter is not None:
        from nlpbench.adapter import n_params

        if not ckpt.exists():  # no validation split: training kept its final weights in memory only
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            torch.save(adapter.model.state_dict(), ckpt)
        return Pairing(unit, trained_vocab_size(adapter), str(ckpt), n_params(adapter.model))
    from nlpbench.store.results import read_records

    done = [r for r in read_records(ctx.run_dir)
            if r.get("kind") == "quality" and str(r.get("cell", "")).startswith(unit + "/") and r.get("status") == "ok"]
    if not done:
        return None
    return Pairing(unit, done[0].get("vocab_size"), str(ckpt) if ckpt.exists() else None, done[0].get("n_params"))


def paired_params(params: dict, pairing: Pairing | None) -> dict:
    """The adapter params a perf cell builds with: the trained vocabulary size where the config has one."""
    if pairing is None or pairing.vocab_size is None or "vocab_size" not in params:
        return params
    return {**params, "vocab_size": pairing.vocab_size}
