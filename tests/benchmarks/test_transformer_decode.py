"""Micro-benchmark: transformer greedy decoding with a key/value cache vs recomputing the prefix.

    .venv/bin/pytest tests/benchmarks/test_transformer_decode.py --benchmark-only

Both run the adapter's real `generate` path (nlpbench.decoding's greedy search) on
the same random model and source batch; only `kv_cache` differs, so the ratio of
the two timings is the cache's speed-up (it grows with the output length).
"""
from __future__ import annotations

import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.models.transformer import TransformerAdapter, TransformerConfig

BATCH, SRC_LEN, NEW_TOKENS = 8, 32, 64


def adapter(kv_cache: bool) -> TransformerAdapter:
    sizes = dict(d_model=128, n_heads=4, n_layers=2, n_decoder_layers=2, d_ff=512, vocab_size=2000)
    cfg = TransformerConfig(**sizes, kv_cache=kv_cache)
    a = TransformerAdapter(cfg, TaskInfo(task="translation", seed=0))
    a.setup(None)  # perf-cell path: no tokenizer, model at vocab_size
    a.model.eval()
    return a


@pytest.mark.parametrize("kv_cache", [True, False], ids=["cache", "recompute"])
def test_decode(benchmark, kv_cache):
    a = adapter(kv_cache)
    batch = a.synthetic_batch(BATCH, SRC_LEN, torch.Generator().manual_seed(0))

    @torch.inference_mode()
    def decode():
        return a.generate(batch, NEW_TOKENS, fixed_length=True)

    benchmark.group = f"transformer decode b={BATCH} src={SRC_LEN} new={NEW_TOKENS}"
    out = benchmark.pedantic(decode, rounds=5, warmup_rounds=1)
    assert out.shape == (BATCH, NEW_TOKENS)
    assert torch.equal(out, adapter(not kv_cache).generate(batch, NEW_TOKENS, fixed_length=True))
