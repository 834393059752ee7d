"""The two sides of `nlpbench ab`: a folder of this repo's code per revision.

`--base REV` (and `--head REV`) become detached `git worktree`s in a temporary
folder, removed when the run ends; no `--head` means the working tree of the
current directory's repository as it is (uncommitted edits included). The same
revision on both sides (an A/A run) still gets two worktrees: two separate
copies, as an A/B run has.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nlpbench.errors import BadInput
from nlpbench.ab.layout import HARNESS


@dataclass
class Side:
    name: str  # base | head
    rev: str  # as given ("" for the working tree)
    sha: str
    root: Path
    dirty: bool = False

    def as_json(self) -> dict:
        return {"rev": self.rev or "working tree", "sha": self.sha, "root": str(self.root), "dirty": self.dirty}


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise BadInput(f"git {' '.join(args)}: {why}")
    return proc.stdout.strip()


def repo_root(where: Path) -> Path:
    """The repository holding `where`; nlpbench ab compares revisions of the nlpbench repo itself."""
    proc = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BadInput(f"ab: {where} is not inside a git repository (run it in an nlpbench checkout)")
    root = Path(proc.stdout.strip())
    if not (root / HARNESS / "__init__.py").is_file():
        raise BadInput(f"ab: {root} is not an nlpbench checkout (no {HARNESS}/__init__.py); ab compares nlpbench revisions")
    return root


def resolve(repo: Path, flag: str, rev: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BadInput(f"{flag}: '{rev}' is not a revision of {repo}")
    return proc.stdout.strip()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def sides(base: str, head: str | None, where: Path | None = None):
    """(base Side, head Side) for the run; their worktrees are removed on the way out."""
    repo = repo_root(Path(where or Path.cwd()))
    shas = {"--base": resolve(repo, "--base", base)}
    if head is not None:
        shas["--head"] = resolve(repo, "--head", head)
    tmp = Path(tempfile.mkdtemp(prefix="nlpbench-ab-"))
    made: list[Path] = []
    # SIGTERM (a cancelled CI job, `timeout`) unwinds like Ctrl-C, so no worktree is left in the repo
    main = threading.current_thread() is threading.main_thread()  # only the main thread may set handlers
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        out = []
        for name, flag in (("base", "--base"), ("head", "--head")):
            if flag not in shas:  # the working tree, as it is
                dirty = bool(git(repo, "status", "--porcelain", "--untracked-files=no"))
                out.append(Side(name, "", git(repo, "rev-parse", "HEAD"), repo, dirty))
                continue
            path = tmp / name
            git(repo, "worktree", "add", "--detach", "--quiet", str(path), shas[flag])
            made.append(path)
            out.append(Side(name, base if name == "base" else head, shas[flag], path))
        yield out[0], out[1]
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        for path in made:
            git(repo, "worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)
