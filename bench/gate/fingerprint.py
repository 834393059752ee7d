"""The machine fingerprint that decides which rule judges a quality cell: what makes a trained model's digits.

Training is bit-for-bit repeatable on one machine at one thread, but the digits depend on which kernels run:
the CPU (vendor, family/model/stepping, its ISA), the ISA ATen dispatches to (`cpu_capability`, which
`ATEN_CPU_CAPABILITY` lowers), the BLAS and oneDNN builds, torch, the thread count, the device, and the pins
set in the environment (`ONEDNN_MAX_CPU_ISA`, `MKL_CBWR`). Two sides with equal fingerprints are held to the
exact rule; different ones to the paired statistical rule (nlpbench.gate.paired). The fingerprint is built
from run.json (`machine`, `environment.cpu`, `environment.kernels`) and frozen into a baseline (format /2);
a format /1 baseline has only its short `machine` (device, cpu, threads, torch, cuda), which is compared
as far as it goes.
"""
from __future__ import annotations

# (fingerprint key, where run.json keeps it): a dotted path from the run.json root
_FROM_RUN = {
    "device": "machine.device_name", "cpu": "machine.cpu_model", "threads": "machine.threads",
    "torch": "machine.torch", "cuda": "machine.cuda",
    "cpu_vendor": "environment.cpu.vendor", "cpu_family": "environment.cpu.family",
    "cpu_model_id": "environment.cpu.model", "cpu_stepping": "environment.cpu.stepping",
    "arch": "environment.cpu.arch", "isa": "environment.cpu.isa",
    "cpu_capability": "environment.kernels.cpu_capability", "blas": "environment.kernels.blas",
    "mkl": "environment.kernels.mkl", "onednn": "environment.kernels.onednn", "pins": "environment.kernels.env",
}
# what a format /1 baseline's `machine` holds (nlpbench.report.write.machine_info's keys)
_SHORT = ("device", "cpu", "threads", "torch", "cuda")


def _get(meta: dict, dotted: str):
    value = meta
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def fingerprint(meta: dict) -> dict:
    """The fingerprint of a run.json (keys it does not record are None: an older run)."""
    out = {key: _get(meta, path) for key, path in _FROM_RUN.items()}
    if out["cpu_capability"] is not None and out["pins"] is None:
        out["pins"] = {}  # kernels recorded, nothing pinned
    return out


def from_baseline(data: dict) -> dict:
    """A baseline file's fingerprint: its own (format /2), else the short `machine` of format /1."""
    if isinstance(data.get("fingerprint"), dict):
        return dict(data["fingerprint"])
    machine = data.get("machine") if isinstance(data.get("machine"), dict) else {}
    return {key: machine.get(key) for key in _SHORT}


def differences(base: dict | None, new: dict | None) -> list[str]:
    """`key old -> new` for each key both sides record and that differs; [] when they agree as far as both go."""
    base, new = base or {}, new or {}
    return [f"{k} {base[k]!r} -> {new[k]!r}" for k in base
            if base.get(k) is not None and new.get(k) is not None and _norm(base[k]) != _norm(new[k])]


def _norm(value):
    """Compared as text (a baseline's JSON turns tuples into lists and numbers may come back as strings)."""
    if isinstance(value, dict):
        return sorted((str(k), str(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sorted(map(str, value))
    return str(value)


def known(fp: dict | None) -> bool:
    return any(v not in (None, {}, []) for v in (fp or {}).values())
