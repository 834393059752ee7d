import subprocess
import sys

from nlpbench.tokenize import encode_all, train_tokenizer

SCRIPT = """
import hashlib, json
from nlpbench.data.synthetic import make_sentiment
from nlpbench.tokenize import train_tokenizer
texts = make_sentiment(1500, 0)["text"]
for kind in ("word", "bpe", "wordpiece"):
    tok = train_tokenizer(kind, texts, 600, lowercase=True)
    print(kind, hashlib.md5(json.dumps(sorted(tok.get_vocab().items())).encode()).hexdigest())
"""


def test_vocabularies_are_the_same_in_every_process():
    """Each process hashes differently; the trained vocabulary must not care (tokenizers#1794)."""
    runs = {subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout for _ in range(3)}
    assert len(runs) == 1


def test_wordpiece_continuations_are_vocabulary_not_special_tokens():
    tok = train_tokenizer("wordpiece", ["unbelievably charming films", "charm and film"] * 5, 60)
    assert "##a" in tok.get_vocab()
    assert "##a" not in [t.content for t in tok.get_added_tokens_decoder().values()]
    assert tok.encode("##a").tokens != ["##a"]  # plain text, not a special token


def test_bpe_round_trips_text():
    tok = train_tokenizer("bpe", ["Ein Mann fährt Fahrrad.", "Zwei Hunde rennen."] * 10, 80)
    ids = encode_all(tok, ["Ein Hund fährt."])[0]
    assert tok.decode(ids) == "Ein Hund fährt."


def test_tokenizer_is_cached_by_data_and_settings(tmp_path):
    a = train_tokenizer("word", ["a b c"], 10, cache_dir=tmp_path)
    files = list((tmp_path / "tokenizers").iterdir())
    b = train_tokenizer("word", ["a b c"], 10, cache_dir=tmp_path)
    assert len(files) == 1 and a.get_vocab() == b.get_vocab()
    train_tokenizer("word", ["a b d"], 10, cache_dir=tmp_path)
    assert len(list((tmp_path / "tokenizers").iterdir())) == 2
