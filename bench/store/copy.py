"""Reading a run folder made elsewhere as data: regular files inside it, never a link followed.

`nlpbench eval` takes a run folder someone handed over and copies its cache into the new run folder,
the one CI uploads as an artifact. A symbolic link in it (`cache/tokenizers/x.json -> ~/.ssh/id_rsa`,
`cache/etc -> /etc`) must not carry its target along, so only regular files are copied, and the
directories that hold them; links, devices and pipes are skipped and listed.
"""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def is_regular(path: Path) -> bool:
    """A regular file itself, not a link to one (nor a device, pipe or folder)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def copy_regular(src: Path, dst: Path) -> list[str]:
    """Copies the regular files under `src` into `dst` (merging, as `copytree(dirs_exist_ok=True)`), walking
    no link; returns what was skipped, relative to `src`. A `src` that is itself a link is skipped whole."""
    src, dst = Path(src), Path(dst)
    if src.is_symlink() or not src.is_dir():
        return [src.name] if src.is_symlink() else []
    skipped = []
    for folder, dirs, files in os.walk(src):  # followlinks=False: a linked folder is listed, not entered
        here = Path(folder)
        rel = here.relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in [d for d in dirs if (here / d).is_symlink()] + files:
            if is_regular(here / name):
                shutil.copyfile(here / name, dst / rel / name, follow_symlinks=False)
            else:
                skipped.append(str(rel / name))
    return sorted(skipped)
