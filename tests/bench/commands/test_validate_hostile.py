"""Property: `nlpbench validate` on generated hostile suites, overrides and data files exits 0 or 2, never a traceback.

Hypothesis builds a suite document (a valid tiny suite, or text meant to break the YAML reader: alias bombs,
deep nesting, tags, stray bytes), overrides (known and random key paths, values of every YAML type, NaN and
infinities, huge integers, path escapes) and a data file (valid rows or garbage, under every extension the
files source knows). The CLI runs in-process; anything but exit 0 or 2 with short lines fails the example.
Derandomized with a fixed example budget, so CI runs the same cases each time.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nlpbench.cli import main  # noqa: E402
from tests.conftest import tiny_suite  # noqa: E402

PATHS = [
    "name", "seed", "seeds", "device", "threads", "workers", "launcher", "tasks", "tasks.0", "tasks.0.name", "tasks.0.task",
    "tasks.0.targets.accuracy", "tasks.0.metrics", "tasks.0.eval_splits", "tasks.0.select_metric",
    "tasks.0.dataset", "tasks.0.dataset.source", "tasks.0.dataset.name", "tasks.0.dataset.files.train",
    "tasks.0.dataset.format", "tasks.0.dataset.columns.text", "tasks.0.dataset.labels", "tasks.0.dataset.size.train",
    "tasks.0.dataset.holdout", "tasks.0.dataset.max_examples.train", "tasks.0.dataset.src", "tasks.0.dataset.tgt",
    "tasks.0.models.0", "tasks.0.models.0.adapter", "tasks.0.models.0.name", "tasks.0.models.0.params",
    "tasks.0.models.0.params.dim", "tasks.0.models.0.params.vocab_size", "tasks.0.models.0.params.checkpoint",
    "tasks.0.models.0.params.pretrain", "tasks.0.models.0.train.lr", "tasks.0.models.0.train.epochs",
    "tasks.0.models.0.train.batch_size", "tasks.0.models.0.train.max_minutes", "tasks.0.models.1.name",
    "perf", "perf.batch_sizes", "perf.models.0.name", "perf.models", "serve", "variants",
]  # fmt: skip
WORDS = ["dummy", "lstm", "bert", "transformer", "seq2seq", "evilmod:X", ":X", ".x:Y", "pkg:evilmod.x/model",
         "pkg:nope/../../etc", "../../../tmp/x", "a/b", "..", "classification", "translation", "files", "synthetic", "hub",
         "sentiment", "text", "tsv", "train.tsv", "train.{lang}", "/dev/zero", "accuracy", "bleu", ".inf", "-.inf",
         ".nan", "1e999", "0x10", "~", "!!binary aGk=", "!!python/object:os.system", "&a [*a]", "*undefined"]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.integers(min_value=2**63, max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.sampled_from(WORDS),
)
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                      max_leaves=10)  # fmt: skip


def _bomb(levels: int, width: int) -> str:
    parts = ["&l0 [" + ",".join(["1"] * width) + "]"]
    parts += [f"&l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "[" + ", ".join(parts) + "]"


hostile_text = st.one_of(
    st.text(max_size=60), st.sampled_from(WORDS), st.just("9" * 5000),  # past int()'s 4300-digit limit
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 3000)),
    st.builds(lambda n: "{a: " * n + "1" + "}" * n, st.integers(1, 200)),
    st.builds(_bomb, st.integers(2, 9), st.integers(2, 9)),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
override_value = st.one_of(values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()),
                           hostile_text)  # fmt: skip
override_key = st.one_of(st.sampled_from(PATHS), st.text(max_size=12), st.builds(".".join, st.lists(st.sampled_from(["a", "0", "tasks", "9"]), max_size=50)))
overrides = st.lists(st.builds(lambda k, v: f"{k}={v}", override_key, override_value), max_size=3)

rows = st.lists(st.tuples(st.sampled_from(["0", "1", "pos", "", "NaN"]), st.text(max_size=12)), min_size=0, max_size=8)
data_file = st.one_of(
    rows.map(lambda rs: ("label\ttext\n" + "".join(f"{a}\t{b}\n" for a, b in rs)).encode("utf-8", "surrogatepass")),
    st.binary(max_size=120),
    st.just(b"\xff\xfe\x00 not utf-8\n"),
)


@st.composite
def documents(draw) -> str:
    """A suite document: the tiny suite (synthetic or on the data file), mutated, or hostile text."""
    raw = tiny_suite(threads=1)
    if draw(st.booleans()):
        ext = draw(st.sampled_from([".tsv", ".csv", ".jsonl", ".txt", ".parquet", ".tsv.gz", ""]))
        raw["tasks"][0]["dataset"] = {"source": "files", "files": {"train": f"train{ext}"}}
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["name", "seed", "device", "tasks", "perf", "extra"]))
        raw[key] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        return draw(hostile_text)
    return yaml.safe_dump(raw, sort_keys=False)


def _write_data(folder: Path, content: bytes) -> None:
    for ext in (".tsv", ".csv", ".jsonl", ".txt", ".parquet", ""):
        (folder / f"train{ext}").write_bytes(content)
    (folder / "train.tsv.gz").write_bytes(gzip.compress(content) if content[:1] != b"\xff" else content)


@pytest.fixture(scope="module")
def warm():
    """One validate before the examples: the first call's imports must not count against the deadline."""
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        (Path(tmp) / "suite.yaml").write_text(yaml.safe_dump(tiny_suite()))
        assert main(["validate", str(Path(tmp) / "suite.yaml")]) == 0


@settings(max_examples=60, deadline=timedelta(seconds=30), derandomize=True, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(doc=documents(), extra=overrides, content=data_file)
def test_validate_on_hostile_input_exits_0_or_2_in_short_lines(warm, doc, extra, content):
    with tempfile.TemporaryDirectory(prefix="nlpbench-hostile-") as tmp:
        folder = Path(tmp)
        (folder / "suite.yaml").write_text(doc, encoding="utf-8", errors="surrogatepass")
        _write_data(folder, content)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(["validate", str(folder / "suite.yaml"), "--data-dir", str(folder), *extra])
            except SystemExit as e:  # argparse refusing an argument (an override that looks like an option)
                code = e.code
    assert code in (0, 2), err.getvalue()
    lines = err.getvalue().splitlines()
    assert all(len(line) <= 2000 for line in lines), max(map(len, lines))
    assert code == 0 or any(line.startswith(("nlpbench: ", "usage:")) for line in lines)
