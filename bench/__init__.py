"""nlpbench: accuracy, BLEU and cost of classic NLP architectures, measured in one run.

The Python API (nlpbench.api): `run(suite, *overrides, models=, tasks=, out=, **options) -> Run`,
`load(run_dir) -> Run`, `compare(baseline, new, **tolerances) -> Verdict`. Adapters plug in through
`nlpbench.registry.register_adapter` and the `nlpbench.adapters` entry-point group; metrics through
`@nlpbench.metric` and the `nlpbench.metrics` group (nlpbench.plugins); `run(..., adapters=, metrics=)` takes
either as an object.
"""

__version__ = "0.1.0"
__all__ = ["BadInput", "Interrupted", "Run", "Verdict", "compare", "load", "metric", "run"]


def __getattr__(name: str):
    # lazy: `import nlpbench.perf.cell` in a worker must not pay for pandas and the report code
    if name in ("Interrupted", "Run", "Verdict", "compare", "load", "run"):
        from nlpbench import api

        return getattr(api, name)
    if name == "metric":
        from nlpbench.plugins import metric

        return metric
    if name == "BadInput":
        from nlpbench.errors import BadInput

        return BadInput
    raise AttributeError(f"module 'nlpbench' has no attribute '{name}'")
