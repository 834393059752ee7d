"""The shipped suite `hf-local` through the real CLI, its checkpoints given by overrides: tiny random
DistilBERT-like and BART-like checkpoints built in the test (tests/hf_tiny.py), shrunk data and grids.
Quality (fine-tuned and as-is), perf forward and generate, the int8 variant (with the `.[variants]`
extra) and a serve cell (with `.[serve]`) for both adapters."""
from __future__ import annotations

import hashlib
import importlib.util

from nlpbench.cli import main
from nlpbench.store.results import read_records

TIMING = "{warmup: 0, min_iters: 2, min_seconds: 0}"


def overrides(classifier, translator) -> list[str]:
    ckpt = [f"tasks.{t}.models.{m}.params.checkpoint={path}" for t, path in ((0, classifier), (1, translator)) for m in (0, 1)]
    variants = "[fp32, int8-dynamic]" if importlib.util.find_spec("torchao") else "[fp32]"  # onnx: test_hf_classifier
    serve = ("{scenarios: [Offline], max_batch: 8, max_wait_ms: 1, min_duration_ms: 100, min_query_count: 16}"
             if importlib.util.find_spec("mlperf_loadgen") else "null")
    return [*ckpt, "device=cpu", "tasks.0.dataset.size={train: 48, validation: 16, test: 16}",
            "tasks.1.dataset.size={train: 32, validation: 8, test: 8}",
            "tasks.1.models.0.params.max_new_tokens=6", "tasks.1.models.1.params.max_new_tokens=6",
            "tasks.1.models.0.params.beam_size=2", "tasks.1.models.1.params.beam_size=2",
            "perf={modes: [forward, generate], batch_sizes: [2], seq_lens: [8], max_new_tokens: 3, rounds: 1, "
            "warmup: 0, min_iters: 2, min_seconds: 0}",
            f"variants={variants}", "variant_perf={batch_size: 2, seq_len: 8, max_new_tokens: 3, warmup: 0, min_iters: 2, "
            "min_seconds: 0}", f"serve={serve}"]  # fmt: skip


def test_hf_local_runs_both_adapters_end_to_end(hf_classifier_dir, hf_translator_dir, tmp_path):
    """One fine-tuned and one as-is row (`--models`): each adapter and each way, in one run of seconds."""
    out = tmp_path / "runs"
    assert main(["run", "hf-local", "--out", str(out), "--no-progress", "--models", "classifier-tuned,translator-as-is",
                 *overrides(hf_classifier_dir, hf_translator_dir)]) == 0
    (rd,) = [p for p in out.iterdir() if p.is_dir()]
    recs = {r["cell"]: r for r in read_records(rd)}
    assert not {c: r.get("error") for c, r in recs.items() if r.get("status") not in ("ok", "unsupported")}
    for task, model, folder in (("classification", "classifier-tuned", hf_classifier_dir),
                                ("translation", "translator-as-is", hf_translator_dir)):
        sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
        rec = recs[f"quality/{task}/{model}/test"]
        assert rec["checkpoint"] == str(folder) and rec["checkpoint_sha256"] == sha
        assert rec["init"] == f"pretrained:{folder}"
        perf = [r for c, r in recs.items() if c.startswith(f"perf/{model}/")]
        assert {r["mode"] for r in perf} == ({"forward", "generate"} if task == "translation" else {"forward"})
        assert all(r["checkpoint_sha256"] == sha and r["latency_ms"]["p50"] > 0 for r in perf)
        if importlib.util.find_spec("torchao"):
            int8 = recs[f"quality/{task}/{model}@int8-dynamic/test"]
            assert int8["status"] == "ok" and int8["checkpoint_sha256"] == sha
        if importlib.util.find_spec("mlperf_loadgen"):
            served = recs[f"serve/{task}/{model}/Offline"]
            assert served["status"] == "ok" and served["checkpoint_sha256"] == sha
    tuned, as_is = recs["quality/classification/classifier-tuned/test"], recs["quality/translation/translator-as-is/test"]
    assert tuned["fit"]["steps"] > 0 and not tuned.get("eval_only") and tuned["picks_checkpoint"] is False
    assert as_is["eval_only"] and as_is["fit"]["steps"] == 0 and as_is["train_s"] == 0
    assert not recs["quality/translation/translator-as-is/validation"]["picks_checkpoint"]  # nothing was picked
    generate = next(r for c, r in recs.items() if c.startswith("perf/translator-as-is/generate"))
    assert generate["beam_size"] == 2 and generate["tokens_per_sample"] == 8 + 3
