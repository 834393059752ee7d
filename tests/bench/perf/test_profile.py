"""`profile`: a torch.profiler trace that torch-tb-profiler lists (a *.pt.trace.json that parses)."""

import argparse
import json

import pytest

from nlpbench.errors import BadInput
from nlpbench.perf import profile
from nlpbench.perf.profile import profile_cell


def _events(path):
    data = json.loads(path.read_text())
    return data["traceEvents"]


def test_profile_cell_writes_a_trace_that_parses_as_json(make_spec, tmp_path):
    trace = profile_cell(make_spec(mode="train_step"), tmp_path / "prof")
    assert trace.parent == tmp_path / "prof" and trace.name.endswith(".pt.trace.json")
    names = {e.get("name") for e in _events(trace)}
    assert "nlpbench.train_step" in names  # the step markers, 3 active steps recorded
    assert any(n and n.startswith("aten::") for n in names)


def test_torch_tb_profiler_lists_and_parses_the_trace(make_spec, tmp_path):
    from torch_tb_profiler import consts
    from torch_tb_profiler.profiler.data import RunProfileData
    from torch_tb_profiler.profiler.run_generator import RunGenerator

    trace = profile_cell(make_spec(), tmp_path)
    match = consts.WORKER_PATTERN.match(trace.name)  # how the plugin finds runs and workers
    assert match
    data = RunProfileData.parse(match.group(1), None, str(trace), str(tmp_path))
    views = {v.display_name for v in RunGenerator(match.group(1), None, data).generate_run_profile().views}
    assert {"Overview", "Operator", "Trace", "Memory"} <= views


def _cli(argv):
    ap = argparse.ArgumentParser()
    profile.register(ap.add_subparsers(dest="command"))
    return ap.parse_args(argv)


def test_profile_command_writes_into_run_dir_profile(write_suite, tmp_path, capsys):
    suite = write_suite({"name": "p", "device": "cpu", "perf": {"models": [{"adapter": "dummy", "name": "d"}]}})
    args = _cli(
        ["profile", str(suite), "--model", "d", "--batch-size", "2", "--seq-len", "8", "--out", str(tmp_path / "run")]
    )
    assert args.func(args) == 0
    traces = list((tmp_path / "run" / "profile").glob("*/*.pt.trace.json"))
    assert len(traces) == 1 and _events(traces[0])
    assert str(traces[0]) in capsys.readouterr().out


def test_profile_command_unknown_model_is_bad_input(write_suite, tmp_path):
    suite = write_suite({"name": "p", "device": "cpu", "perf": {"models": [{"adapter": "dummy", "name": "d"}]}})
    args = _cli(["profile", str(suite), "--model", "dd", "--batch-size", "2", "--seq-len", "8", "--out", str(tmp_path)])
    with pytest.raises(BadInput, match="did you mean 'd'"):
        args.func(args)
