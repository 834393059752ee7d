"""Tests for the `bert` adapter: tiny BERTs (hidden 32, 2 layers) on a toy sentiment set."""
from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from nlpbench.adapter import TaskInfo
from nlpbench.errors import BadInput
from nlpbench.models.bert import BertAdapter, BertClsConfig, PretrainConfig, mlm_loss, mlm_train_config, pretrain_mlm
from nlpbench.quality.train import fit
from nlpbench.registry import get_adapter

TINY = dict(vocab_size=200, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_len=16, dropout=0.0)
GOOD = ["a good film", "great acting and a fine story", "i loved it", "wonderful , warm and funny"]
BAD = ["a bad film", "dull acting and a thin story", "i hated it", "boring , cold and flat"]
TEXTS = GOOD + BAD


def toy() -> Dataset:
    return Dataset.from_dict({"text": TEXTS * 4, "label": ([1] * 4 + [0] * 4) * 4})


def adapter(tmp_path=None, trainer=fit, **params) -> BertAdapter:
    torch.manual_seed(0)
    info = TaskInfo(num_labels=2, cache_dir=tmp_path, progress=False, trainer=trainer)  # as the quality cell builds it
    a = BertAdapter(BertClsConfig(**{**TINY, **params}), info)
    a.setup(toy())
    return a


def test_registered():
    assert get_adapter("bert") is BertAdapter


def test_shapes_and_truncation():
    a = adapter()
    long_text = " ".join(["good"] * 40)
    ds = Dataset.from_dict({"text": ["good", long_text], "label": [1, 0]})
    ex = a.encode(ds)
    assert ex[0]["length"] == 3 and ex[1]["length"] == 16  # [CLS] good [SEP]; truncated at max_len
    assert ex[1]["input_ids"][0] == a.tokenizer.cls_token_id and ex[1]["input_ids"][-1] == a.tokenizer.sep_token_id
    batch = a.collate(ex)
    assert batch["input_ids"].shape == (2, 16) and batch["attention_mask"][0].sum() == 3
    assert batch["labels"].tolist() == [1, 0]
    assert a.forward(batch).shape == (2, 2)
    assert len(a.predict(batch)) == 2 and a.init == "random"


def test_synthetic_batch_and_perf_setup():
    a = BertAdapter(BertClsConfig(**TINY), TaskInfo(num_labels=3, progress=False))
    a.setup(None)
    assert a.model.config.vocab_size == 200
    batch = a.synthetic_batch(4, 24, torch.Generator().manual_seed(0))
    assert batch["input_ids"].shape == (4, 24) and batch["labels"].shape == (4,)
    assert a.forward(batch).shape == (4, 3)
    assert a.loss(batch).ndim == 0
    with pytest.raises(BadInput, match="seq_len"):
        a.synthetic_batch(1, 513, torch.Generator())


def test_padding_does_not_change_prediction():
    a = adapter()
    ds = Dataset.from_dict({"text": ["i loved it", "great acting and a fine story , wonderful , warm"], "label": [1, 1]})
    ex = a.encode(ds)
    with torch.inference_mode():
        alone = a.forward(a.collate(ex[:1]))[0]
        padded_batch = a.collate(ex)
        assert padded_batch["attention_mask"][0].sum() < padded_batch["input_ids"].shape[1]  # really padded
        padded = a.forward(padded_batch)[0]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


def test_one_training_step_lowers_loss():
    a = adapter()
    # 4 positive, 2 negative: at init the logits are ~0, so a balanced batch sits at a flat ln 2
    batch = a.collate(a.encode(toy())[:6])
    opt = torch.optim.AdamW(a.model.parameters(), lr=3e-3)
    a.model.train()
    before = a.loss(batch)
    before.backward()
    assert a.model.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0  # gradient reaches the encoder
    opt.step()
    with torch.no_grad():
        after = a.loss(batch)
    assert after.item() < before.item() - 5e-3


def test_loads_saved_checkpoint_and_matches(tmp_path):
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted({w for t in TEXTS for w in t.split()})
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(words)})
    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, num_labels=2)
    saved = BertForSequenceClassification(cfg).eval()
    tok.save_pretrained(tmp_path)
    saved.save_pretrained(tmp_path)

    a = BertAdapter(BertClsConfig(checkpoint=str(tmp_path)), TaskInfo(num_labels=2, progress=False))
    a.setup(toy())
    assert a.init == f"pretrained:{tmp_path}"
    batch = a.collate(a.encode(toy()))
    with torch.inference_mode():
        ref = saved(**tok(TEXTS * 4, padding=True, return_tensors="pt")).logits
        got = a.forward(batch)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    assert a.predict(batch) == ref.argmax(-1).tolist()


def test_mlm_stage_lowers_loss(tmp_path):
    a = adapter(tmp_path)  # for its tokenizer and config
    from transformers import AutoModelForMaskedLM, DataCollatorForLanguageModeling

    torch.manual_seed(0)
    mlm = AutoModelForMaskedLM.from_config(a.model.config)
    collator = DataCollatorForLanguageModeling(a.tokenizer, mlm_probability=0.3, seed=0)
    fixed = collator([{"input_ids": ids} for ids in a.tokenizer(TEXTS)["input_ids"]])
    with torch.no_grad():
        before = mlm_loss(mlm.eval(), fixed).item()
    p = PretrainConfig(steps=30, batch_size=8, lr=3e-3, mask_prob=0.3)
    done = pretrain_mlm(mlm, a.tokenizer, toy()["text"], p, a.info, max_len=16)
    with torch.no_grad():
        after = mlm_loss(mlm, fixed).item()
    assert done == 30 and after < before - 0.5


def test_mlm_setup_sets_init_and_moves_encoder(tmp_path):
    plain = adapter(tmp_path)
    pre = adapter(tmp_path, pretrain={"objective": "mlm", "steps": 5, "batch_size": 8})
    assert pre.init == "mlm:5" and plain.init == "random"
    # same seed, so only the MLM stage can make the encoders differ
    emb = "embeddings.word_embeddings.weight"
    assert not torch.equal(plain.model.bert.state_dict()[emb], pre.model.bert.state_dict()[emb])
    torch.testing.assert_close(plain.model.bert.pooler.dense.weight, pre.model.bert.pooler.dense.weight)


def test_mlm_stops_at_max_minutes(tmp_path):
    a = adapter(tmp_path, pretrain={"steps": 1000, "batch_size": 8, "max_minutes": 1e-5, "warmup": 0.0})
    assert a.init.startswith("mlm:") and int(a.init.split(":")[1]) < 1000


def test_mlm_pretraining_runs_through_the_harness_trainer():
    """The stage is the trainer handed in (`nlpbench.quality.train.fit`) with BERT's recipe: a step budget across
    epochs, beta2 0.98, clock-aware decay."""
    seen = {}

    def spy(stage, examples, cfg, **kw):
        seen.update(cfg=cfg, n=len(examples), stage=stage)
        return fit(stage, examples, cfg, **kw)

    a = adapter(trainer=spy, pretrain={"steps": 7, "batch_size": 4, "max_minutes": None})  # 32 texts: 8 batches an epoch
    assert a.init == "mlm:7" and seen["n"] == len(toy())
    assert seen["cfg"] == mlm_train_config(a.cfg.pretrain)
    assert seen["cfg"].max_steps == 7 and seen["cfg"].adam_beta2 == 0.98 and seen["cfg"].clock_schedule


@pytest.mark.parametrize(
    "params, field",
    [
        ({"pretrain": {"objective": "clm", "steps": 10}}, "pretrain.objective"),
        ({"pretrain": {"objective": "mlm", "stepz": 10}}, "pretrain.stepz"),
        ({"pretrain": {"mask_prob": 1.5}}, "pretrain.mask_prob"),
        ({"pretrain": {"steps": 5}, "checkpoint": "some/dir"}, "pretrain"),
        ({"hidden_size": 30, "num_heads": 4}, "num_heads"),
        ({"num_heads": 0}, "num_heads: allowed >= 1; given 0"),  # before: ZeroDivisionError
        ({"hidden_size": -8, "num_heads": -2}, "hidden_size: allowed >= 1; given -8"),
        ({"vocab_size": 0, "max_len": 1}, "vocab_size: allowed > 5"),
        ({"dropout": 1.0}, "dropout: allowed 0 <= p < 1"),
        ({"pretrain": {"batch_size": 0, "lr": -1}}, "pretrain.batch_size: allowed an integer >= 1"),
        ({"pretrain": {1: 2, "stepz": 3}}, "pretrain.1: allowed keys"),  # a YAML number key: not a TypeError
    ],
)
def test_bad_params_raise_bad_input(params, field):
    with pytest.raises(BadInput, match=field):
        BertClsConfig(**params)
    with pytest.raises(BadInput, match="objective"):
        PretrainConfig(objective="clm")
