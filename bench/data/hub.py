"""The `hub` source: a `datasets` hub name, loaded with `load_dataset`.

Where the hub can't be reached (always, on offline machines) the error is one
line naming the `files` alternative instead of a long network traceback.
"""
from __future__ import annotations

import datasets

from nlpbench.errors import BadInput


def load(task, data_dir, seed: int, at: str):
    spec = task.dataset
    names = spec.splits or {"train": "train", "validation": "validation", "test": "test"}
    try:
        loaded = datasets.load_dataset(spec.name, spec.config)
    except Exception as e:  # offline: ConnectionError, OfflineModeIsEnabled, DatasetNotFoundError...
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise BadInput(
            f"{at}.name: cannot load '{spec.name}' from the hub ({reason}); "
            f"download it once and use source: files with files: {{train: ..., validation: ...}}"
        ) from None
    out = {split: loaded[name] for split, name in names.items() if name in loaded}
    if "train" not in out:
        raise BadInput(f"{at}.splits.train: hub data set '{spec.name}' has no split '{names['train']}'; it has {', '.join(loaded)}")
    return out, spec.name, {}
