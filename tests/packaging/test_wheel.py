"""The wheel holds one import package, `nlpbench` (harness, adapters as nlpbench.models, suites as package
data), and nothing top-level besides its dist-info: no generic `bench` or `models` to collide with."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nlpbench.ab.layout import PACKAGES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"pip wheel could not build here: {proc.stderr.strip().splitlines()[-1:]}")
    (whl,) = out.glob("nlpbench-*.whl")
    return zipfile.ZipFile(whl).namelist()


def test_only_nlpbench_is_top_level(wheel_names):
    tops = {n.split("/")[0] for n in wheel_names}
    assert tops == {"nlpbench", next(t for t in tops if t.endswith(".dist-info"))}


def test_every_module_of_the_repo_is_in_the_wheel(wheel_names):
    def shipped(folder: str, package: str) -> set[str]:
        return {f"{package}/{p.relative_to(ROOT / folder).as_posix()}" for p in (ROOT / folder).rglob("*.py")
                if "__pycache__" not in p.parts}  # fmt: skip

    expected = shipped(PACKAGES["nlpbench"], "nlpbench") | shipped(PACKAGES["nlpbench.models"], "nlpbench/models")
    assert expected - set(wheel_names) == set()
    suites = {f"nlpbench/suites/{p.name}" for p in (ROOT / PACKAGES["nlpbench.suites"]).glob("*.yaml")}
    assert suites and suites <= set(wheel_names)
    assert "nlpbench/metrics/accuracy.py" in wheel_names  # a metric entry with its evaluate module
