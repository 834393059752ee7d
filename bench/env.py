"""Where a run ran: versions, git state, device and CPU — what run.json records.

`machine` is the short fingerprint `compare` reads; `environment` is the full
provenance beside it (CPU, cores, RAM, OS, Python, every installed package,
CUDA and driver, the data directory and each split's sha256).
"""
from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, distributions, version
from pathlib import Path

import psutil
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


# CPU features that decide which kernels torch can use (so a perf number can be read against them)
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni",
             "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


def cpu_info() -> dict:
    """The CPU as the OS describes it: the whole model string plus the family/model/stepping that identify
    it when a hypervisor shortens the name (a VM may show just "AMD EPYC"), and its kernel-relevant ISA."""
    fields = _cpuinfo_fields()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    return {"model_name": cpu_model(), "vendor": fields.get("vendor_id"), "family": fields.get("cpu family"),
            "model": fields.get("model"), "stepping": fields.get("stepping"), "cache": fields.get("cache size"),
            "isa": [f for f in ISA_FLAGS if f in flags], "arch": platform.machine()}


def _cpuinfo_fields() -> dict[str, str]:
    """The first processor's `key: value` lines of /proc/cpuinfo ({} where there is none, e.g. macOS)."""
    out: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return out
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


# Environment variables that choose which CPU kernels run (so the same model gives other digits under them):
# PyTorch's ATen dispatch ISA, oneDNN's ISA ceiling, MKL's conditional numerical reproducibility, OpenMP/MKL
# thread counts. `make regress`/`make baseline` set the first three (README, "CI and regress").
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS",
              "MKL_NUM_THREADS")


def kernels() -> dict:
    """What decides a trained model's digits beyond the code: the ISA ATen dispatches to
    (`torch.backends.cpu.get_cpu_capability()`), the BLAS and oneDNN builds, and the pins set for this process."""
    config = torch.__config__.show()
    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "blas": _config_line(config, "BLAS_INFO="), "mkl": _config_line(config, "Math Kernel Library Version"),
            "onednn": _config_line(config, "MKL-DNN v"),
            "env": {k: os.environ[k] for k in KERNEL_ENV if os.environ.get(k)}}


def _config_line(config: str, marker: str) -> str | None:
    """The version after `marker` in `torch.__config__.show()` (first word; None when the build lacks it)."""
    for line in config.splitlines():
        if marker in line:
            words = line.split(marker, 1)[1].strip().split(",")[0].split()
            return words[0].split("-")[0] if words else None
    return None


def cores() -> dict:
    """Logical and physical cores, and how many this process may run on (a container or taskset limits it)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else psutil.cpu_count()
    return {"logical": psutil.cpu_count(logical=True), "physical": psutil.cpu_count(logical=False), "usable": usable}


def os_info() -> dict:
    try:
        distro = platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:  # not Linux, or no os-release file
        distro = None
    return {"platform": platform.platform(), "system": platform.system(), "release": platform.release(),
            "distribution": distro}


def packages() -> dict[str, str]:
    """Every installed distribution, name -> version, sorted by name (the first found wins, as for import)."""
    out: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name and name not in out:
            out[name] = dist.version
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def cuda_info() -> dict | None:
    """CUDA runtime, cuDNN, the NVIDIA driver and the GPUs; None on a machine with neither CUDA torch nor a driver."""
    driver = nvidia_driver()
    if torch.version.cuda is None and driver is None:
        return None
    available = torch.cuda.is_available()
    devices = [{"name": p.name, "memory_gb": round(p.total_memory / 2**30, 2), "capability": f"{p.major}.{p.minor}"}
               for p in map(torch.cuda.get_device_properties, range(torch.cuda.device_count() if available else 0))]
    return {"version": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if available else None,
            "driver": driver, "devices": devices}


def nvidia_driver() -> str | None:
    """The NVIDIA kernel driver's version: /proc/driver/nvidia/version, else nvidia-smi; None without one."""
    try:
        words = Path("/proc/driver/nvidia/version").read_text().split()
        return next(w for w in words if w[:1].isdigit() and w.count(".") >= 1)
    except (OSError, StopIteration):
        pass
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.split()
        return out[0] if out else None
    except (subprocess.SubprocessError, OSError):
        return None


def data_directory(data_dir: str | None) -> str | None:
    """Where relative data paths resolved: --data-dir, else $NLPBENCH_DATA (absolute), else None."""
    base = data_dir or os.environ.get("NLPBENCH_DATA")
    return str(Path(base).expanduser().resolve()) if base else None


def environment(data_dir: str | None = None, data: dict | None = None) -> dict:
    """run.json's `environment`: everything about the machine and the data a reader needs to reproduce a run.

    `data`: the splits' identity (`nlpbench.data.identity.data_identity`), measured by the caller that
    loaded them; this module sits below the data layer and never reads a split itself."""
    return {"cpu": cpu_info(), "kernels": kernels(), "cores": cores(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 2),
            "os": os_info(), "python": {"version": platform.python_version(),
                                        "implementation": platform.python_implementation(),
                                        "executable": sys.executable},
            "packages": packages(), "cuda": cuda_info(), "data_dir": data_directory(data_dir),
            "data": data or {}}


def cpuinfo_fields() -> dict[str, str]:
    """The first processor's /proc/cpuinfo `key: value` fields (nlpbench.perf.ceiling reads its flags and clock)."""
    return _cpuinfo_fields()
