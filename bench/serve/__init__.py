"""Serving scenarios: a trained adapter behind a dynamic batcher, driven by MLPerf LoadGen.

LoadGen (`mlcommons-loadgen`, imported as `mlperf_loadgen`) generates the traffic and
judges it: SingleStream (one request at a time), Offline (everything at once: maximum
throughput) and Server (Poisson arrivals at a target QPS, VALID only when the p99
latency stays under the target). The query samples are the eval split's real encoded
examples, so padding costs what it costs on real request lengths.

Modules: `batcher` (the dynamic batcher), `sut` (LoadGen's system under test and
query sample library around it, and the watchdog that reports dropped answers),
`loadgen_log` (LoadGen's summary/detail logs), `scenarios` (one LoadGen test, the
Server capacity search), `cells` (records of kind `serve` for the runner),
`tables` (report table and plot). The package imports without LoadGen installed;
only running a scenario needs it.
"""
from __future__ import annotations

from nlpbench.errors import BadInput
from nlpbench.extras import installed

INSTALL = "pip install -e '.[serve]'   (or: make serve)"


def loadgen_missing() -> list[str]:
    """One problem line when LoadGen is not installed, else none (checked without importing it)."""
    if not installed("mlperf_loadgen"):
        return [f"serve: needs MLPerf LoadGen (package mlcommons-loadgen), which is not installed; install it with: {INSTALL}"]
    return []


def require_loadgen():
    """The `mlperf_loadgen` module, or BadInput naming the install command."""
    if problems := loadgen_missing():
        raise BadInput(problems)
    import mlperf_loadgen

    return mlperf_loadgen


def serve_problems(suite) -> list[str]:
    """Config problems of a suite's `serve:` section (LoadGen missing, unknown model labels)."""
    labels = [m.label for t in suite.tasks for m in t.models]
    problems = [f"serve.models.{i}: no model is labelled '{name}'; the suite's models: {', '.join(labels) or 'none'}"
                for i, name in enumerate(suite.serve.models) if name not in labels]
    problems += [f"serve.targets.{name}: no model is labelled '{name}'; the suite's models: {', '.join(labels) or 'none'}"
                 for name in suite.serve.targets if name not in labels]
    return problems + loadgen_missing()
