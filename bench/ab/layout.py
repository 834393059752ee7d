"""Which repository folder holds which part of the import package: the one place the layout is written.

The repo keeps `bench/` (the harness), `models/` (the adapters) and `suites/`
(the YAML suites); installed, they are one import package, `nlpbench`, with
`nlpbench.models` and `nlpbench.suites` under it. This file imports nothing, so
code that must not import nlpbench reads it by path: setup.py (before anything
is installed) and `nlpbench ab`'s worker (which imports a revision's nlpbench,
never the driver's).
"""

PACKAGES = {"nlpbench": "bench", "nlpbench.models": "models", "nlpbench.suites": "suites"}  # package -> folder
HARNESS = PACKAGES["nlpbench"]  # the folder whose `__init__.py` is nlpbench itself
SUBPACKAGES = {name.removeprefix("nlpbench."): folder for name, folder in PACKAGES.items() if name != "nlpbench"}
