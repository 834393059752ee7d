"""nlpbench.env's provenance: what run.json's `environment` says about the machine and the data."""
from __future__ import annotations

import json
from importlib.metadata import version

import torch

from nlpbench import env
from nlpbench.data import load_all_data
from nlpbench.data.identity import data_identity, data_sha256
from nlpbench.suite.schema import validate
from tests.conftest import tiny_suite

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7763 64-Core Processor
stepping\t: 1
cache size\t: 512 KB
flags\t\t: fpu sse4_2 avx avx2 fma avx512f

processor\t: 1
model name\t: something else
"""


def test_cpu_info_reads_the_first_processor_of_proc_cpuinfo(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text(CPUINFO)
    real = env.Path

    monkeypatch.setattr(env, "Path", lambda p: real(fake) if p == "/proc/cpuinfo" else real(p))
    env.cpu_model.cache_clear()
    try:
        info = env.cpu_info()
    finally:
        env.cpu_model.cache_clear()
    assert info["model_name"] == "AMD EPYC 7763 64-Core Processor"  # the whole string, not a prefix
    assert (info["vendor"], info["family"], info["model"], info["stepping"]) == ("AuthenticAMD", "25", "1", "1")
    assert info["isa"] == ["sse4_2", "avx", "avx2", "fma", "avx512f"]


def test_environment_has_machine_os_python_and_every_package():
    e = env.environment()
    assert e["cpu"]["model_name"] == env.cpu_model()
    assert e["cores"]["logical"] >= e["cores"]["usable"] >= 1 and e["cores"]["physical"] >= 1
    assert e["ram_gb"] > 0.1
    assert e["os"]["platform"] and e["os"]["system"]
    assert e["python"]["version"].count(".") == 2
    pkgs = e["packages"]
    assert len(pkgs) > 20  # every installed distribution, not a chosen few
    for name in ("torch", "pandas", "psutil", "matplotlib", "pyyaml"):
        key = next(k for k in pkgs if k.lower() == name)
        assert pkgs[key] == version(name)
    assert list(pkgs) == sorted(pkgs, key=str.lower)
    assert e["data"] == {}  # no tasks given
    json.dumps(e)  # run.json is JSON


def test_data_dir_is_the_flag_else_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPBENCH_DATA", raising=False)
    assert env.data_directory(None) is None
    monkeypatch.setenv("NLPBENCH_DATA", str(tmp_path / "from-env"))
    assert env.data_directory(None) == str(tmp_path / "from-env")
    assert env.data_directory(str(tmp_path)) == str(tmp_path)


def test_cuda_is_absent_without_cuda_torch_or_driver(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(env, "nvidia_driver", lambda: None)
    assert env.cuda_info() is None


def test_cuda_records_runtime_and_driver(monkeypatch):
    # CPU machine: a CUDA build of torch with a driver but no usable GPU still says which versions it has
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    monkeypatch.setattr(env, "nvidia_driver", lambda: "570.124.06")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert env.cuda_info() == {"version": "12.8", "cudnn": None, "driver": "570.124.06", "devices": []}


def test_nvidia_driver_parses_the_kernel_module_line(monkeypatch, tmp_path):
    fake = tmp_path / "version"
    fake.write_text("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.124.06  Release Build  (dvs-builder)\n"
                    "GCC version:  gcc version 12.3.0\n")
    real = env.Path
    monkeypatch.setattr(env, "Path", lambda p: real(fake) if p == "/proc/driver/nvidia/version" else real(p))
    assert env.nvidia_driver() == "570.124.06"


def test_data_identity_hashes_each_split_as_loaded():
    suite = validate(tiny_suite())
    data = load_all_data(suite, None)
    ident = data_identity(suite.tasks, data)
    splits = ident["classification"]["splits"]
    assert set(splits) == {"train", "validation", "test"}
    assert splits["test"] == {"n": 50, "sha256": data_sha256(data[0].splits["test"]),
                              "overlap": {"n": 0, "of": 50, "fraction": 0.0}}  # synthetic: no files to list
    assert len({s["sha256"] for s in splits.values()}) == 3  # the splits differ, so do their hashes
    assert data_identity(suite.tasks, load_all_data(suite, None)) == ident  # same data, same hashes
    other = load_all_data(validate(tiny_suite(seed=1)), None)  # another seed draws other synthetic examples
    assert data_identity(suite.tasks, other)["classification"]["splits"]["test"]["sha256"] != splits["test"]["sha256"]


def test_kernels_record_the_aten_capability_the_builds_and_the_pins(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    k = env.kernels()
    assert k["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert k["env"]["MKL_CBWR"] == "AVX2" and "ATEN_CPU_CAPABILITY" not in k["env"]
    if torch.backends.mkldnn.is_available():
        assert k["onednn"] and k["onednn"][0].isdigit()  # "3.12.0", parsed from torch.__config__.show()
    assert "kernels" in env.environment()
