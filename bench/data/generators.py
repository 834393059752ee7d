"""The built-in synthetic data sets, by name (`dataset: {source: synthetic, name: ...}`): no files, no network.

Each generator makes one stream of distinct items for a seed, cut into the splits' sizes.
"""
from __future__ import annotations

import datasets

from nlpbench.data.synthetic import DEFAULT_SIZES, make_sentiment
from nlpbench.data.synthetic_hard import make_sentiment_hard
from nlpbench.data.synthetic_translation import make_translation
from nlpbench.errors import BadInput, shown, unknown_name

GENERATORS = {"sentiment": ("classification", make_sentiment), "translation": ("translation", make_translation),
              "sentiment-hard": ("classification", make_sentiment_hard)}


def load(task, data_dir, seed: int, at: str):
    spec = task.dataset
    if spec.name not in GENERATORS:
        raise BadInput(f"{at}.name: " + unknown_name("synthetic generator", spec.name, GENERATORS))
    kind, make = GENERATORS[spec.name]
    if kind != task.task:
        raise BadInput(f"{at}.name: synthetic {shown(spec.name)} makes {kind} data; this task is {task.task}")
    sizes = {**DEFAULT_SIZES, **spec.size}
    rows = make(sum(sizes.values()), seed)  # one stream of distinct items, cut into splits
    out, start = {}, 0
    for split, n in sizes.items():
        out[split] = datasets.Dataset.from_dict({k: v[start : start + n] for k, v in rows.items()})
        start += n
    return out, f"synthetic:{spec.name}", {}
