from types import SimpleNamespace

from nlpbench.perf.plan import perf_models, perf_specs
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite


def _suite(**perf):
    raw = tiny_suite(perf={"modes": ["forward", "generate", "train_step"], "batch_sizes": [1, 8], "seq_lens": [16, 64], **perf})
    raw["tasks"].append({
        "task": "translation", "dataset": {"source": "synthetic", "name": "translation"},
        "models": [{"adapter": "seq2seq", "name": "d1"}],
    })  # fmt: skip
    return validate(raw)


def test_same_label_in_two_kinds_of_task_gets_distinct_perf_names():
    suite = _suite()
    names = [name for _, name, *_ in perf_models(suite, [SimpleNamespace(num_labels=2), SimpleNamespace(num_labels=None)])]
    assert names == ["d1", "d2", "d1@translation"]


def test_generate_only_for_translation_and_limits_shrink_a_mode(tmp_path):
    suite = _suite(limits={"train_step": {"batch_sizes": [1], "seq_lens": [16]}})
    ctx = SimpleNamespace(suite=suite, device=SimpleNamespace(type="cpu"), seed=0, peak_gflops=None, trained={},
                          run_dir=tmp_path)
    specs = perf_specs(ctx, [SimpleNamespace(num_labels=2), SimpleNamespace(num_labels=None)])
    cells = {s.cell for s in specs}
    assert len(cells) == len(specs)
    assert "perf/d1@translation/generate/fp32/b8/s64" in cells
    assert not any(c.startswith("perf/d1/generate") for c in cells)
    assert {c for c in cells if "/train_step/" in c} == {f"perf/{n}/train_step/fp32/b1/s16" for n in ("d1", "d2", "d1@translation")}
    # 3 models x forward 4 + translation generate 4 + train_step 3
    assert len(specs) == 12 + 4 + 3


def test_beam_generate_cells_say_so_in_their_id():
    from nlpbench.perf.cell import perf_cell_id

    assert perf_cell_id("mt", "generate", "fp32", False, 1, 32, beam=5) == "perf/mt/generate+beam5/fp32/b1/s32"
    assert perf_cell_id("mt", "generate", "fp32", False, 1, 32) == "perf/mt/generate/fp32/b1/s32"
    assert perf_cell_id("mt", "forward", "fp32", False, 1, 32, beam=5) == "perf/mt/forward/fp32/b1/s32"
