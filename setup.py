"""The repo keeps `bench/` (harness), `models/` (adapters) and `suites/` (YAML); the wheel holds one import
package, `nlpbench`, with the adapters as `nlpbench.models` and the suites as `nlpbench.suites`.
Everything else about the distribution is in pyproject.toml."""
from setuptools import find_namespace_packages, setup

setup(
    packages=["nlpbench", "nlpbench.models", "nlpbench.suites", *(f"nlpbench.{p}" for p in find_namespace_packages("bench", exclude=["*__pycache__*"]))],
    package_dir={"nlpbench": "bench", "nlpbench.models": "models", "nlpbench.suites": "suites"},
    package_data={"nlpbench.suites": ["*.yaml"]},
)
