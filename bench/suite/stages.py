"""The stages of a run, one row each, in the order a run runs them.

The run (`run`: what it measures, through nlpbench.launch.jobs), the suite schema (validate-time problems),
the report (extra tables) and the sinks (`publish`, after the report) iterate this table instead of
importing the features: a new stage is a row here. Functions are named `module:function` and imported only
when called, so validating a suite without a `serve:` section never imports the serving code (nor LoadGen).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Stage:
    key: str  # its top-level suite key
    active: Callable  # (validated suite) -> bool: the suite asks for this stage
    problems: str | None = None  # "module:function", (suite) -> list[str]: one line per validate-time problem
    tables: str | None = None  # "module:function", (records) -> list[Table]: the report's tables of its records
    run: str | None = None  # "module:function", (ctx, data) -> labels of required models that failed
    publish: str | None = None  # "module:function", (run_dir, suite): after the report (tracker sinks)
    units: str | None = None  # "module:function", (suite) -> training units it adds (the plan counts them)

    def call(self, hook: str, *args):
        ref = getattr(self, hook)
        if ref is None:
            return []
        module, _, name = ref.partition(":")
        return getattr(import_module(module), name)(*args)

    def tables_of(self, records: list[dict]) -> list:
        return self.call("tables", records)


STAGES = (
    Stage("tasks", lambda s: True, run="nlpbench.launch.units:run_quality"),  # training units, scored
    Stage("tune", lambda s: any(t.tune for t in s.tasks), "nlpbench.tune.study:suite_problems",
          run="nlpbench.tune.study:run_tune", units="nlpbench.tune.study:unit_count"),  # trials, then the winners confirmed (tables: nlpbench.tune.report)
    Stage("variants", lambda s: s.variants != ["fp32"], "nlpbench.variants:suite_problems",
          "nlpbench.report.variants:deployment_tables", run="nlpbench.variants.run:run_stage"),
    Stage("serve", lambda s: s.serve is not None, "nlpbench.serve:serve_problems", "nlpbench.report.serve:serve_tables",
          run="nlpbench.serve.cells:run_serve"),
    Stage("perf", lambda s: s.perf is not None, run="nlpbench.launch.cells:run_perf"),
    Stage("log_to", lambda s: bool(s.log_to), "nlpbench.sinks:suite_problems", publish="nlpbench.sinks:publish"),
)  # fmt: skip
