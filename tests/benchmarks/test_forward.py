"""Micro-benchmarks: each adapter's forward at one small fixed shape (pytest-benchmark).

`make bench-micro` saves a run; `make bench-micro-compare` fails when a median
is 15% slower than the last saved run. Not part of `make test`.
"""
import pytest
import torch

from nlpbench.adapter import TaskInfo
from nlpbench.registry import get_adapter
from nlpbench.suite.schema import adapter_config

SMALL = {
    "lstm": ("classification", {"vocab_size": 5000, "embed_dim": 128, "hidden_size": 128}),
    "transformer": ("classification", {"vocab_size": 5000, "d_model": 128, "n_heads": 4, "n_layers": 2, "d_ff": 512}),
    "bert": ("classification", {"vocab_size": 5000, "hidden_size": 128, "num_layers": 2, "num_heads": 4, "intermediate_size": 512}),
    "seq2seq": ("translation", {"vocab_size": 5000, "emb_size": 128, "hidden_size": 128, "attn_size": 128}),
    "transformer-mt": ("translation", {"vocab_size": 5000, "d_model": 128, "n_heads": 4, "n_layers": 2, "n_decoder_layers": 2, "d_ff": 512}),
}
BATCH, SEQ = 8, 64


@pytest.mark.parametrize("name", sorted(SMALL))
def test_forward(benchmark, name):
    torch.manual_seed(0)
    task, params = SMALL[name]
    cls = get_adapter(name.removesuffix("-mt"))
    adapter = cls(adapter_config(cls, params), TaskInfo(task=task, num_labels=2))
    adapter.setup(None)
    adapter.model.eval()
    batch = adapter.synthetic_batch(BATCH, SEQ, torch.Generator().manual_seed(0))

    def forward():
        with torch.inference_mode():
            return adapter.forward(batch)

    out = benchmark(forward)
    assert out is not None
