"""Rebuild a trained adapter from a run folder: same vocabulary, same architecture, best weights.

    adapter = load_trained(run_dir, task_spec, model_spec, task_data, device)
    preds = predict_all(adapter, adapter.encode(ds), 256)

For `nlpbench eval` and anything else that must use a model a run trained
(serving, variants) without training it again. A run folder holds what this
needs: `checkpoints/<task>-<model>.pt` (the best-on-validation weights, saved
by the trainer) and `cache/tokenizers/` (vocabularies trained on the train
split, keyed by a hash of that text and their settings).

`setup(train)` is called with `TaskInfo.restore = True`: the adapter rebuilds
its vocabulary and model (the vocabulary comes from the cache, so `train` must
be the run's train split) and skips stages that only make initial weights
(bert's masked-LM pretraining); the checkpoint then replaces every weight. The
run's cache is copied into `cache_dir` first, so the source run is never
written to; a vocabulary that is not in it means the train data differ from
the run's, which is bad input rather than a silently different model.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from nlpbench.adapter import TaskInfo
from nlpbench.errors import BadInput, clip
from nlpbench.quality.ids import file_stem
from nlpbench.quality.train import seed_everything
from nlpbench.registry import get_adapter
from nlpbench.store.copy import copy_regular, is_regular
from nlpbench.suite.schema import adapter_config


def checkpoint_path(run_dir: Path, task_label: str, model_label: str, seed: int | None = None) -> Path:
    """Where the runner saves a model's best weights (nlpbench.quality.score.run_quality_unit); `seed` when the
    suite lists `seeds` (the file then ends `-seed<k>.pt`)."""
    return Path(run_dir) / "checkpoints" / f"{file_stem(task_label, model_label, seed)}.pt"


def first_seed(suite) -> int | None:
    """The seed tag of the model later work measures: the first of `seeds`, None for a single-seed suite."""
    seeds = getattr(suite, "seeds", None)
    return seeds[0] if seeds else None


def _vocab_files(cache_dir: Path) -> set[str]:
    return {p.name for p in (cache_dir / "tokenizers").glob("*.json")}


def load_trained(
    run_dir: Path,
    task,
    model,
    data,
    device: torch.device,
    *,
    dtype: str = "fp32",
    seed: int = 0,
    cache_dir: Path | None = None,
    progress: bool = False,
    seed_tag: int | None = None,
):
    """The adapter `model` (a ModelSpec) of task `task` (a TaskSpec) as trained in `run_dir`.

    `data` is the task's TaskData (its train split rebuilds the vocabulary);
    `cache_dir` receives a copy of the run's cache (default: a temporary dir)."""
    run_dir = Path(run_dir)
    ckpt = checkpoint_path(run_dir, task.label, model.label, seed_tag)
    if not ckpt.is_file():
        raise BadInput(f"{run_dir}: no checkpoint for {task.label}/{model.label} (expected {ckpt})")
    if not is_regular(ckpt):  # a run folder is data: a link in it is not followed out
        raise BadInput(f"{ckpt}: a link, not a checkpoint file; a run folder's files are read only as regular files")
    cache = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="nlpbench-cache-"))
    skipped = copy_regular(run_dir / "cache", cache)  # only regular files: a link must not carry its target along
    if skipped:
        from nlpbench.context import log

        log(f"{run_dir}/cache: not copied (links or special files): {', '.join(skipped[:5])}"
            + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""))  # fmt: skip
    before = _vocab_files(cache)
    cls = get_adapter(model.adapter)
    info = TaskInfo(
        task=task.task, num_labels=data.num_labels, device=device, dtype=dtype, seed=seed,
        cache_dir=cache, progress=progress, restore=True,
    )  # fmt: skip
    seed_everything(seed)
    adapter = cls(adapter_config(cls, model.params), info)
    adapter.setup(data.train)
    if _vocab_files(cache) - before:
        raise BadInput(f"{run_dir}: the vocabulary of {model.label} is not in the run's cache/tokenizers/; "
                       f"the train data differ from the run's (same tasks.N.dataset.files.train and data dir?)")  # fmt: skip
    _fit_state(adapter, read_state_dict(ckpt, device), ckpt, model.label)
    adapter.model.eval()
    return adapter


def read_state_dict(ckpt: Path, device: torch.device) -> dict:
    """The tensors saved in `ckpt` (`weights_only`: nothing in the file runs); BadInput naming the file when it is
    not a state dict torch can read (a damaged or foreign file), or one of another shape."""
    try:
        state = torch.load(ckpt, map_location=device, weights_only=True)
    except Exception as e:  # UnpicklingError, "not a zip file" RuntimeError, EOFError...: all mean the same here
        raise BadInput(f"{ckpt}: not a checkpoint torch can read ({type(e).__name__}: "
                       f"{clip(str(e).splitlines()[0] if str(e) else '', 100)})") from None  # fmt: skip
    if not isinstance(state, dict):  # a dict of other values is load_state_dict's to refuse (_fit_state)
        raise BadInput(f"{ckpt}: holds a {type(state).__name__}, not a state dict (parameter name -> tensor)")
    return state


def _fit_state(adapter, state: dict, ckpt: Path, label: str) -> None:
    try:
        adapter.model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
        raise BadInput(f"{ckpt}: does not fit {label} as configured ({clip(first)})") from None


def trained_adapter(ctx, task, model, data):
    """The adapter `model` as trained in this run: from memory (`ctx.trained`) when this process trained it,
    else rebuilt from the run folder's checkpoint (a cell finished before `--resume`), else None.

    Work that follows training and must use the same model (serving, deployment variants) asks here."""
    key = (task.label, model.label)
    if key in ctx.trained:
        return ctx.trained[key]
    tag = first_seed(ctx.suite)
    if not checkpoint_path(ctx.run_dir, task.label, model.label, tag).is_file():
        return None
    adapter = load_trained(ctx.run_dir, task, model, data, ctx.device, dtype=ctx.dtype,
                           seed=ctx.seed if tag is None else tag, progress=ctx.progress, seed_tag=tag)  # fmt: skip
    ctx.trained[key] = adapter
    return adapter
