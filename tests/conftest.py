"""Shared fixtures: tiny suites and data files written into tmp dirs."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
import torch
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if "NLPBENCH_CACHE" not in os.environ:  # parsed data files (nlpbench.data.cache): the tests' own, not the user's
    os.environ["NLPBENCH_CACHE"] = tempfile.mkdtemp(prefix="nlpbench-test-cache-")
    atexit.register(shutil.rmtree, os.environ["NLPBENCH_CACHE"], True)
torch.set_num_threads(1)  # tests are about behaviour; one thread keeps them deterministic and polite


def tiny_suite(**over) -> dict:
    """A dummy-adapter classification suite on a small synthetic split; seconds to run."""
    suite = {
        "name": "tiny",
        "seed": 0,
        "device": "cpu",
        "tasks": [
            {
                "task": "classification",
                "dataset": {"source": "synthetic", "name": "sentiment", "size": {"train": 200, "validation": 50, "test": 50}},
                "models": [
                    {"adapter": "dummy", "name": "d1", "train": {"epochs": 1}},
                    {"adapter": "dummy", "name": "d2", "params": {"dim": 8}, "train": {"epochs": 1}},
                ],
            }
        ],
    }
    suite.update(over)
    return suite


@pytest.fixture(scope="session")
def hf_classifier_dir(tmp_path_factory):
    """A tiny random DistilBERT-like classifier checkpoint (tests/hf_tiny.py), built once per session."""
    from tests.hf_tiny import distilbert

    return distilbert(tmp_path_factory.mktemp("hf-distilbert"))


@pytest.fixture(scope="session")
def hf_translator_dir(tmp_path_factory):
    """A tiny random BART-like translator checkpoint (tests/hf_tiny.py), built once per session."""
    from tests.hf_tiny import bart

    return bart(tmp_path_factory.mktemp("hf-bart"))


@pytest.fixture(scope="session")
def hf_t5_dir(tmp_path_factory):
    """A tiny random T5-like translator checkpoint (tests/hf_tiny.py), built once per session."""
    from tests.hf_tiny import t5

    return t5(tmp_path_factory.mktemp("hf-t5"))


@pytest.fixture(scope="module")
def local_ray():
    """A private local Ray with 2 CPUs for one test module (skips without the `[ray]` extra)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def write_suite(tmp_path):
    def write(data: dict, name: str = "suite.yaml"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def sst_like(tmp_path):
    """SST-2-shaped files: train has label/sentence, dev has label/content (headers differ)."""
    train = ["label\tsentence"] + [f"{i % 2}\t{'a fine' if i % 2 else 'a dull'} film number {i} 's \"odd" for i in range(40)]
    dev = ["label\tcontent"] + [f"{i % 2}\t{'fine' if i % 2 else 'dull'} movie {i}" for i in range(10)]
    (tmp_path / "train.tsv").write_text("\n".join(train) + "\n")
    (tmp_path / "dev.tsv").write_text("\n".join(dev) + "\n")
    return tmp_path


def files_suite(data_dir, **dataset_over) -> dict:
    dataset = {
        "source": "files",
        "files": {"train": str(data_dir / "train.tsv"), "validation": str(data_dir / "dev.tsv")},
        "columns": {"text": "sentence", "label": "label"},
        "columns_by_split": {"validation": {"text": "content"}, "test": {"text": "content"}},
    }
    dataset.update(dataset_over)
    return tiny_suite(tasks=[{"task": "classification", "dataset": dataset, "models": [{"adapter": "dummy", "train": {"epochs": 1}}]}])
