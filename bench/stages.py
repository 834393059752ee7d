"""The optional stages of a run beyond training and scoring, one row each.

The suite schema (validate-time problems) and the report (extra tables) iterate this table instead of
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

    def call(self, hook: str, *args):
        ref = getattr(self, hook)
        if ref is None:
            return []
        module, _, name = ref.partition(":")
        return getattr(import_module(module), name)(*args)

    def tables_of(self, records: list[dict]) -> list:
        return self.call("tables", records)


STAGES = (
    Stage("variants", lambda s: s.variants != ["fp32"], "nlpbench.variants:suite_problems",
          "nlpbench.report.variants:deployment_tables"),
    Stage("serve", lambda s: s.serve is not None, "nlpbench.serve:serve_problems", "nlpbench.report.serve:serve_tables"),
    Stage("log_to", lambda s: bool(s.log_to), "nlpbench.sinks:suite_problems"),  # tracker sinks, sent after the report
)  # fmt: skip
