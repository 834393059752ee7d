"""What a suite will run and roughly how long it takes, stated before it starts (`validate`, `run`'s first lines).

Counts are exact (the cells the stages would run): training units (models x tasks x seeds), perf cells (models
x modes x batch sizes x sequence lengths x dtypes x compile), deployment-variant cells, serve cells (models x
scenarios), and trials of a `tune:` section where one exists (`TRIALS` below: its stage fills it in).

The time is an *estimate*, said with its basis, from the suite's own budgets:
- training: per unit, examples to process (epochs x train examples, or max_steps x batch, MLM pretraining
  steps x batch included) at a rate per adapter and task measured for the quick suite's small models on a
  2-core CPU (results/baselines/quick-cpu.json, `train_examples_per_s`), capped by `max_minutes`; an adapter
  not in the table is assumed at ASSUMED_RATE. Bigger models, other machines and GPUs differ (a GPU: faster).
  A process pool divides by its workers (never below the longest unit).
- perf: each cell at least `rounds` x max(`min_seconds`, `warmup` + `min_iters` iterations) plus a setup
  second; iterations are not timed ahead, so this is a floor.
- variants: each at least `variant_perf.min_seconds` plus a setup second; serve: LoadGen tests of at least
  `min_duration_ms` each (SingleStream, Offline, `search_steps` Server tests).
A perf grid above LARGE_CELLS cells is a warning line; above ABSURD_CELLS cells, or an estimate above
ABSURD_HOURS, `run` and `validate` refuse (exit 2) unless `--allow-large`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nlpbench.errors import BadInput
from nlpbench.tasks import get_task

# train examples/s of the quick suite's models as the committed baseline measured them (results/baselines/
# quick-cpu.json, `train_examples_per_s`, 2-core CPU, threads=1; tests/bench/suite/test_plan.py holds the two
# together); the dummy adapter's is a round guess (it trains nothing worth timing)
RATES = {("lstm", "classification"): 634, ("transformer", "classification"): 490, ("bert", "classification"): 532,
         ("seq2seq", "translation"): 183, ("transformer", "translation"): 217, ("dummy", "classification"): 20000}
ASSUMED_RATE = 100.0  # examples/s of an adapter not measured above
SETUP_S = 1.0  # building a model or a variant, per cell
LARGE_CELLS = 1000
ABSURD_CELLS = 100_000
ABSURD_HOURS = 7 * 24
TRIALS: list = []  # (suite) -> number of trials or None: a `tune:` stage registers how many it runs


@dataclass
class Plan:
    units: int = 0
    perf_cells: int = 0
    variant_cells: int = 0
    serve_cells: int = 0
    trials: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    basis: list[str] = field(default_factory=list)

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())

    def lines(self) -> list[str]:
        """The plan as `validate` prints it and `run` logs it first."""
        parts = [f"{self.units} training unit(s)", f"{self.perf_cells} perf cell(s)",
                 f"{self.variant_cells} variant cell(s)", f"{self.serve_cells} serve cell(s)"]  # fmt: skip
        if self.trials is not None:
            parts.insert(1, f"{self.trials} tune unit(s) (trials, untuned, confirmation: not in the estimate below)")
        out = ["plan: " + ", ".join(parts)]
        by_stage = ", ".join(f"{k} {duration(v)}" for k, v in self.seconds.items() if v)
        out.append(f"estimate: about {duration(self.total_s)} on this machine ({by_stage or 'nothing to run'}); "
                   f"an estimate from the suite's budgets: {'; '.join(self.basis)}")  # fmt: skip
        if self.perf_cells > LARGE_CELLS:
            out.append(f"warning: {self.perf_cells:,} perf cells take at least {duration(self.seconds.get('perf', 0))}; "
                       "narrow perf.batch_sizes/seq_lens/dtype/compile or give a mode its own grid (perf.limits)")
        return out

    def refusal(self) -> str | None:
        """Why this plan is too large to start without `--allow-large` (None when it is not)."""
        if self.perf_cells > ABSURD_CELLS:
            return f"perf: {self.perf_cells:,} cells (more than {ABSURD_CELLS:,})"
        if self.total_s > ABSURD_HOURS * 3600:
            return f"an estimated {duration(self.total_s)} (more than {ABSURD_HOURS // 24} days)"
        return None


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def make_plan(suite, data) -> Plan:
    """The plan of a validated suite whose tasks' data are loaded (`data`, one TaskData per task)."""
    plan = Plan()
    _training(plan, suite, data)
    if suite.perf is not None:
        _perf(plan, suite, data)
    if suite.variants != ["fp32"]:
        models = sum(len(t.models) for t in suite.tasks)
        plan.variant_cells = models * len(suite.variants)
        plan.seconds["variants"] = plan.variant_cells * (suite.variant_perf.min_seconds + SETUP_S)
    if suite.serve is not None:
        _serve(plan, suite)
    plan.trials = _trials(suite)
    return plan


def _trials(suite) -> int | None:
    """Tuning trials: what a registered counter says, else a `tune:` section's `trials`/`n_trials` (None: no
    tuning). The hook for the tune stage, which adds that key."""
    from nlpbench.suite.stages import STAGES

    counts = [n for n in (count(suite) for count in TRIALS) if n is not None]
    counts += [stage.call("units", suite) for stage in STAGES if stage.units and stage.active(suite)]
    tune = getattr(suite, "tune", None)
    if not counts and tune is not None:
        counts = [n for n in (getattr(tune, k, None) for k in ("trials", "n_trials")) if isinstance(n, int)][:1]
    return sum(counts) if counts else None


def _training(plan: Plan, suite, data) -> None:
    from nlpbench.launch.process import worker_count
    from nlpbench.launch.units import quality_launcher
    from nlpbench.quality.units import cost, plan as units_plan

    units = units_plan(suite, data, set())
    plan.units = len(units)
    each, unmeasured = [], set()
    for u in units:
        cap_min, examples = cost(suite, data, u)
        model, task = suite.tasks[u.task_index].models[u.model_index], suite.tasks[u.task_index].task
        rate = RATES.get((model.adapter, task))
        if rate is None:
            unmeasured.add(model.adapter)
        seconds = examples / (rate or ASSUMED_RATE)
        each.append(min(seconds, cap_min * 60) if cap_min else seconds)
    workers = worker_count(suite) if units and quality_launcher(suite) == "process" else 1
    plan.seconds["training"] = max(sum(each) / workers, max(each, default=0.0))
    plan.basis.append("training at the quick suite's measured examples/s per adapter (2-core CPU), capped by max_minutes"
                      + (f", {', '.join(sorted(unmeasured))} assumed at {ASSUMED_RATE:.0f}/s" if unmeasured else "")
                      + (f", {workers} workers" if workers > 1 else ""))  # fmt: skip


def _perf(plan: Plan, suite, data) -> None:
    from nlpbench.perf.plan import perf_models

    p = suite.perf
    for _model, _name, task, *_ in perf_models(suite, data):
        for mode in p.modes:
            if mode == "generate" and not get_task(task).generates:
                continue
            batches, seqs = p.grid(mode)
            plan.perf_cells += len(batches) * len(seqs) * len(p.dtypes) * len(p.compiles)
    per_cell = p.rounds * p.min_seconds + SETUP_S
    plan.seconds["perf"] = plan.perf_cells * per_cell
    plan.basis.append(f"perf cells at least rounds {p.rounds} x min_seconds {p.min_seconds} s + {SETUP_S:.0f} s setup each")


def _serve(plan: Plan, suite) -> None:
    spec = suite.serve
    models = [m for t in suite.tasks for m in t.models if not spec.models or m.label in spec.models]
    plan.serve_cells = len(models) * len(spec.scenarios)
    tests = sum(spec.search_steps if s == "Server" else 1 for s in spec.scenarios)
    plan.seconds["serve"] = len(models) * tests * spec.min_duration_ms / 1000
    plan.basis.append(f"serve at min_duration_ms {spec.min_duration_ms} per LoadGen test")


def check_size(plan: Plan, allow_large: bool) -> None:
    """BadInput for a plan too large to start by mistake (see `Plan.refusal`), unless allowed."""
    why = plan.refusal()
    if why and not allow_large:
        raise BadInput(f"plan: {why}; if that is really meant, pass --allow-large (API: allow_large=True)")
