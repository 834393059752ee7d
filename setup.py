"""The repo keeps `bench/` (harness), `models/` (adapters) and `suites/` (YAML); the wheel holds one import
package, `nlpbench`, with the adapters as `nlpbench.models` and the suites as `nlpbench.suites`.
Which folder is which package is written once, in bench/ab/layout.py, read here by path (nothing is installed
yet to import). Everything else about the distribution is in pyproject.toml."""
import runpy
from pathlib import Path

from setuptools import find_namespace_packages, setup

LAYOUT = runpy.run_path(str(Path(__file__).resolve().parent / "bench" / "ab" / "layout.py"))
PACKAGES, HARNESS = LAYOUT["PACKAGES"], LAYOUT["HARNESS"]

setup(
    packages=[*PACKAGES, *(f"nlpbench.{p}" for p in find_namespace_packages(HARNESS, exclude=["*__pycache__*"]))],
    package_dir=PACKAGES,
    package_data={"nlpbench.suites": ["*.yaml"]},
)
