"""compile: true compiles what generate calls (dynamo frames > 0), or the cell is refused up front (exit 2)."""
import perf_test_adapters  # noqa: F401  (registers perf_tiny_gen: a translator naming no decoding methods)

from nlpbench.cli import main
from nlpbench.perf import run_perf_cell
from tests.conftest import tiny_suite

TRANSLATOR = {"vocab_size": 100, "d_model": 16, "n_heads": 2, "n_layers": 1, "n_decoder_layers": 1, "d_ff": 32}


def test_compiled_generate_compiles_the_decoding_methods(make_spec):
    # backend "eager": dynamo captures frames as with inductor, without minutes of C++ codegen on a test machine
    spec = make_spec(adapter="transformer", name="t", params=TRANSLATOR, task="translation", num_labels=None,
                     mode="generate", compile=True, compile_backend="eager", min_iters=2, max_new_tokens=3)
    rec = run_perf_cell(spec)
    assert rec["compiled_frames"] > 0 and rec["compile_s"] > 0
    assert rec["flops"] > 0 and rec["flops_complete"]  # counted on the eager methods


def test_generate_compile_is_refused_before_the_run_when_decoding_cannot_be_compiled(write_suite, capsys, tmp_path):
    suite = tiny_suite(perf={"modes": ["generate"], "compile": [False, True], "batch_sizes": [1], "seq_lens": [4],
                             "models": [{"adapter": "perf_tiny_gen", "name": "tg", "task": "translation"}]})
    suite["tasks"] = []
    path = str(write_suite(suite))
    assert main(["validate", path]) == 2
    assert "perf.compile: compile with mode 'generate'" in capsys.readouterr().err
    assert main(["run", path, "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()  # refused before a run folder was made
