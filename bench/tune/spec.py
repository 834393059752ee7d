"""The suite's `tune:` key (per task; a model entry's own `tune:` overrides its space), and its checks.

```yaml
tune:
  trials: 10                 # N trials per architecture (and per space)
  budget: {flops: 2.0e12}    # the same for every architecture: {flops: X} (default kind) | {steps: N} | {minutes: M}
  sampler: sobol             # sobol (quasi-random, independent draws: what the curves assume) | tpe (Optuna's TPE)
  pruner: none               # tpe only: median (nlpbench.tune.prune)
  studies: 2                 # AlgoPerf's split of the N trials into S studies of N/S for the best-of-budget table
  confirm_seeds: 5           # the best config of each architecture rerun with k fresh seeds, test scored once
  target: 0.85               # time-to-target on validation (default: the median best validation score)
  space: {train.lr: {log_uniform: [1e-4, 1e-2]}}        # over each adapter's own search_space
  spaces: {narrow: {...}, wide: {...}}                   # several spaces: the verdict holds only if it holds in all
```
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from nlpbench.tune import space as S
from nlpbench.tune.budget import budget_problems


class ModelTune(BaseModel):
    """A model entry's `tune:`: its own space layers, or `skip: true` to leave it out of the tune stage."""

    model_config = ConfigDict(extra="forbid")

    space: dict[str, Any] = {}
    spaces: dict[str, dict[str, Any]] = {}
    skip: bool = False
    # set by the tune stage on a TPE trial's entry when `pruner: median`: {journal, study, number} (nlpbench.tune.prune)
    report_to: dict[str, Any] | None = None


class TuneSpec(ModelTune):
    trials: PositiveInt = 10
    budget: dict[str, Any] | None = None  # required: the per-trial budget (nlpbench.tune.budget)
    sampler: Literal["sobol", "tpe"] = "sobol"
    pruner: Literal["none", "median"] = "none"  # tpe only: Optuna's MedianPruner on each validation pass
    studies: PositiveInt = 1
    confirm_seeds: int = Field(5, ge=0)
    target: float | None = None

    def space_names(self, model: ModelTune | None = None) -> list[str]:
        names = list(self.spaces) + [n for n in (model.spaces if model else {}) if n not in self.spaces]
        return names or ["default"]

    def space_for(self, adapter_space: dict, model: ModelTune | None, name: str) -> dict:
        """The space one model is tuned in: adapter default < task space < task spaces[name] < model's."""
        mt = model or ModelTune()
        return S.merged(adapter_space, self.space, self.spaces.get(name), mt.space, mt.spaces.get(name))


def tune_problems(task, at: str, adapter_space, model_problems) -> list[str]:
    """Validate-time problems of a task's `tune:` (adapter_space: adapter name -> its search_space;
    model_problems: the schema's check of one model entry, handed in since the schema imports this module)."""
    tune = task.tune
    out = budget_problems(tune.budget, f"{at}.tune.budget") if tune.budget is not None else [
        f"{at}.tune.budget: required, the same for every architecture: {{flops: X}}, {{steps: N}} or {{minutes: M}}"]
    if tune.pruner != "none" and tune.sampler != "tpe":
        out.append(f"{at}.tune.pruner: with sampler tpe only (pruned trials would bias the Sobol curves)")
    if tune.trials % tune.studies:
        out.append(f"{at}.tune.studies: must divide trials ({tune.trials}) into equal studies; given {tune.studies}")
    out += S.problems(tune.space, f"{at}.tune.space")
    out += [p for n, sp in tune.spaces.items() for p in S.problems(sp, f"{at}.tune.spaces.{n}")]
    for mi, m in enumerate(task.models):
        where = f"{at}.models.{mi}"
        own = m.tune or ModelTune()
        out += S.problems(own.space, f"{where}.tune.space")
        out += [p for n, sp in own.spaces.items() for p in S.problems(sp, f"{where}.tune.spaces.{n}")]
        if own.skip or out:
            continue
        for name in tune.space_names(own):  # a representative point of each space must make a valid entry
            sp = tune.space_for(adapter_space(m.adapter), own, name)
            entry = S.apply(m.model_dump(exclude={"tune"}), S.midpoint(sp), S.pinned(sp))
            probe = type(m).model_validate(entry)
            out += [f"{p} (tune space '{name}')" for p in model_problems(probe, task.task, where)]
    return out
