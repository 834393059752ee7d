"""Vocabularies trained on a task's train split with Hugging Face `tokenizers`, cached.

Kinds:
- `word`: whitespace/punctuation split, one id per word (the LSTM's classic vocab);
- `bpe`: byte-pair encoding with a Metaspace pre-tokenizer, so `decode` gives
  back detokenised text exactly (what sacreBLEU must score);
- `wordpiece`: BERT's WordPiece with its usual specials.

A trained tokenizer is saved as JSON under the run folder's cache, keyed by a
hash of its settings and the training text, so a resumed run reuses it.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from nlpbench.errors import BadInput

KINDS = ("word", "bpe", "wordpiece")
DEFAULT_SPECIALS = {
    "word": ["<pad>", "<unk>", "<bos>", "<eos>"],
    "bpe": ["<pad>", "<unk>", "<bos>", "<eos>"],
    "wordpiece": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
}


def _fingerprint(texts: Sequence[str], settings: dict) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _build(kind: str, specials: list[str], vocab_size: int, min_frequency: int, lowercase: bool):
    unk = specials[1]
    norm = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    if kind == "word":
        tok = Tokenizer(models.WordLevel(unk_token=unk))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials, show_progress=False)
    elif kind == "bpe":
        tok = Tokenizer(models.BPE(unk_token=unk))
        # Metaspace keeps word boundaries as '▁' so decode() restores the spacing.
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials, show_progress=False)
    elif kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=unk))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials, show_progress=False)
    else:
        raise BadInput(f"tokenizer kind: allowed {', '.join(KINDS)}; given '{kind}'")
    tok.normalizer = normalizers.Sequence(norm)
    return tok, trainer


def train_tokenizer(
    kind: str,
    texts: Sequence[str],
    vocab_size: int,
    *,
    min_frequency: int = 1,
    lowercase: bool = False,
    specials: list[str] | None = None,
    cache_dir: Path | None = None,
) -> Tokenizer:
    """Trains (or loads from `cache_dir`) a tokenizer of `kind` on `texts`.

    specials[0] is the padding token and specials[1] the unknown token; ids
    0..len(specials)-1 are the specials in order.
    """
    specials = list(specials or DEFAULT_SPECIALS[kind])
    settings = dict(kind=kind, vocab_size=vocab_size, min_frequency=min_frequency, lowercase=lowercase, specials=specials)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / "tokenizers" / f"{kind}-{_fingerprint(texts, settings)}.json"
        if path.exists():
            return Tokenizer.from_file(str(path))
    tok, trainer = _build(kind, specials, vocab_size, min_frequency, lowercase)
    if kind == "wordpiece":
        trainer.special_tokens = specials + _continuations(tok, texts)
    tok.train_from_iterator(_batches(texts), trainer=trainer, length=len(texts))
    if kind == "wordpiece":
        tok = _unmark_continuations(tok, specials)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # parallel workers may train the same vocabulary at once
        tok.save(str(tmp))
        tmp.replace(path)  # atomic: a killed run never leaves a torn cache file
    return tok


def _continuations(tok: Tokenizer, texts: Sequence[str]) -> list[str]:
    """'##c' for every character of the normalised text, in sorted order.

    tokenizers creates these continuation tokens lazily in hash-map order, so
    their ids, and through tie-breaking the merges, change from run to run
    (huggingface/tokenizers#1794). Declared up front they get fixed ids and
    WordPiece training becomes deterministic."""
    chars: set[str] = set()
    for t in texts:
        chars.update(tok.normalizer.normalize_str(t))
    return [f"##{c}" for c in sorted(chars) if not c.isspace()]


def _unmark_continuations(tok: Tokenizer, specials: list[str]) -> Tokenizer:
    """The '##c' tokens stay in the vocabulary but stop being special (added) tokens."""
    spec = json.loads(tok.to_str())
    spec["added_tokens"] = [a for a in spec["added_tokens"] if a["content"] in specials]
    return Tokenizer.from_str(json.dumps(spec))


def _batches(texts: Sequence[str], size: int = 1000) -> Iterable[list[str]]:
    for i in range(0, len(texts), size):
        yield list(texts[i : i + size])


def encode_all(tok: Tokenizer, texts: Sequence[str], max_len: int | None = None) -> list[list[int]]:
    """Token ids for each text (no specials added), truncated to `max_len`."""
    out = [e.ids for e in tok.encode_batch(list(texts), add_special_tokens=False)]
    return [ids[:max_len] for ids in out] if max_len else out
