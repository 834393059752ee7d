"""Where a run ran: versions, git state, device and CPU — what run.json records."""
from __future__ import annotations

import platform
import socket
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

SOURCE = Path(__file__).resolve().parent.parent  # nlpbench's own checkout, when it runs from one (editable)
PACKAGES = ("nlpbench", "torch", "transformers", "datasets", "evaluate", "tokenizers", "sacrebleu", "numpy", "pandas")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(where: Path | None = None) -> tuple[str, bool]:
    """(short sha, dirty) of the repository holding `where` (default: the current directory, i.e. the user's
    project); ('nogit', False) outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=where or Path.cwd(), capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()  # fmt: skip

    try:
        return git("rev-parse", "--short", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (subprocess.SubprocessError, OSError):
        return "nogit", False


def nlpbench_source() -> dict:
    """nlpbench's own version, and its commit when it runs from a git checkout (an editable install)."""
    out = {"version": versions().get("nlpbench")}
    if (SOURCE / ".git").exists():
        sha, dirty = git_state(SOURCE)
        out.update(git_sha=sha, git_dirty=dirty)
    return out


@cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def resolve_device(wanted: str) -> torch.device:
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(wanted)


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()


def machine(device: torch.device) -> dict:
    """The fingerprint `compare` uses to tell whether perf numbers are comparable."""
    return {
        "hostname": socket.gethostname(),
        "device_name": device_name(device),
        "cpu_model": cpu_model(),
        "threads": torch.get_num_threads(),
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "torch": torch.__version__,
    }
