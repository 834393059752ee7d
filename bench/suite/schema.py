"""Suite files: schema with defaults, dotted overrides, and validation that lists every problem.

A suite is data, never code: YAML is safe-loaded, and the only names it can
make us import are registered adapter names. Precedence of values:
adapter defaults < suite file < `KEY=VALUE` overrides.
"""
from __future__ import annotations

import difflib
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from nlpbench import metrics as metric_entries
from nlpbench.adapter import TrainConfig, adapter_config, hook  # re-exported: suites and plugins import them here
from nlpbench.errors import BadInput, format_errors, missing, shown, unknown_name
from nlpbench.extras import missing_extra
from nlpbench.suite import budget
from nlpbench.suite.overrides import apply_overrides
from nlpbench.suite.values import raw_problems
from nlpbench.tasks import TASK_NAMES, get_task
from nlpbench.tune.spec import ModelTune, TuneSpec

SUITES_DIR = Path(str(files("nlpbench.suites")))  # shipped in the wheel; a suite is one of these names or a path
Split = Literal["train", "validation", "test"]
DType = Literal["fp32", "bf16", "fp16"]
TaskName = Literal[TASK_NAMES]  # nlpbench.tasks is the one list of tasks
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]  # what numpy's seed takes (the trainer seeds random, numpy, torch)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(Strict):
    adapter: str
    name: str | None = None  # label in tables; defaults to the adapter name
    params: dict[str, Any] = {}
    train: dict[str, Any] | None = {}  # null: evaluate the model as set up (a pretrained checkpoint), no training
    required: bool = False  # a failed cell of a required model makes `run` exit 1
    tune: ModelTune | None = None  # its own search-space layers in the task's tune stage (nlpbench.tune)

    @property
    def label(self) -> str:
        return self.name or self.adapter


class DatasetSpec(Strict):
    source: Literal["synthetic", "files", "hub"]
    name: str | None = None  # synthetic generator / hub data set / a label for files
    config: str | None = None  # hub configuration name
    files: dict[Split, str] = {}
    format: Literal["auto", "tsv", "csv", "jsonl", "parquet", "text"] = "auto"
    columns: dict[str, str] = {}  # role -> column name: text/label or src/tgt
    columns_by_split: dict[Split, dict[str, str]] = {}  # where headers differ between files
    splits: dict[Split, str] = {}  # hub split names, e.g. {validation: validation}
    src: str | None = None  # translation: source language (fills {lang} in file paths)
    tgt: str | None = None
    labels: list[str | int] | None = None  # the label set; default: the labels seen in train
    size: dict[Split, PositiveInt] = {}  # synthetic: examples per split
    max_examples: dict[Split, PositiveInt] = {}  # take the first N of a split
    # carve a seeded validation split out of train (a fraction < 1, or a count), so the split that picks the
    # checkpoint is not the one published
    holdout: PositiveFloat | None = None
    # the largest fraction of a validation/test split whose input text also occurs in train (casefolded,
    # whitespace collapsed); above it the data is refused. Default 0.05 (nlpbench.data.checks)
    max_overlap: float | None = Field(None, ge=0, le=1)


class TaskSpec(Strict):
    task: TaskName
    name: str | None = None
    dataset: DatasetSpec
    metrics: list[str] | None = None
    eval_splits: list[Split] | None = None  # default: validation and test, where present
    select_metric: str | None = None  # validation metric for the best checkpoint
    targets: dict[str, float] = {}  # time-to-target on the selection metric, e.g. {accuracy: 0.8}
    models: list[ModelSpec] = Field(min_length=1)
    tune: TuneSpec | None = None  # the tune stage: equal-budget trials per model, curves, confirmation (nlpbench.tune)

    @property
    def label(self) -> str:
        return self.name or self.task


class PerfModelSpec(ModelSpec):
    task: TaskName = "classification"
    num_labels: PositiveInt = 2


class PerfLimit(Strict):
    """A mode's own, usually smaller, grid (train_step and generate cost more than forward)."""

    batch_sizes: list[PositiveInt] | None = None
    seq_lens: list[PositiveInt] | None = None


class PerfSpec(Strict):
    modes: list[Literal["forward", "train_step", "generate"]] = ["forward"]
    batch_sizes: list[PositiveInt] = [1, 8]
    seq_lens: list[PositiveInt] = [32, 128]
    dtype: DType | list[DType] = "fp32"
    compile: bool | list[bool] = False
    warmup: int = Field(3, ge=0)
    min_iters: PositiveInt = 10
    min_seconds: float = Field(1.0, ge=0)
    max_new_tokens: PositiveInt = 32
    launcher: Literal["inline", "process", "ray", "torchrun"] = "inline"
    rounds: PositiveInt = 3  # inline/process: each cell timed in this many interleaved rounds (nlpbench.perf.rounds)
    precision: PositiveFloat | None = 0.05  # rounds > 1: a cell stops once its median is known to ±this (95%)
    max_seconds: PositiveFloat | None = None  # with precision: an imprecise cell gets more rounds up to this (timed s)
    ray_address: str | None = None  # launcher ray: a cluster to join ($RAY_ADDRESS wins); none: a local Ray
    num_cpus: PositiveFloat = 1  # launcher ray: CPUs each cell reserves (its torch threads too)
    nproc: PositiveInt = 2  # launcher torchrun: DDP processes per train_step cell
    models: list[PerfModelSpec] = []  # default: every model of every task
    limits: dict[Literal["forward", "train_step", "generate"], PerfLimit] = {}

    def grid(self, mode: str) -> tuple[list[int], list[int]]:
        """(batch sizes, sequence lengths) for `mode`."""
        lim = self.limits.get(mode, PerfLimit())
        return lim.batch_sizes or self.batch_sizes, lim.seq_lens or self.seq_lens

    @property
    def dtypes(self) -> list[str]:
        return self.dtype if isinstance(self.dtype, list) else [self.dtype]

    @property
    def compiles(self) -> list[bool]:
        return self.compile if isinstance(self.compile, list) else [self.compile]


class VariantPerf(Strict):
    """The reference shape each deployment variant is timed at (bench/variants/cost.py)."""

    batch_size: PositiveInt = 8
    seq_len: PositiveInt = 128  # classification: tokens per input; translation: source tokens
    max_new_tokens: PositiveInt = 16  # translation: greedy tokens generated (fixed length)
    warmup: int = Field(3, ge=0)
    min_iters: PositiveInt = 10
    min_seconds: float = Field(1.0, ge=0)


class ServeSpec(Strict):
    """`serve:` trained models behind a dynamic batcher, driven by MLPerf LoadGen (bench/serve/, extra `.[serve]`)."""

    scenarios: list[Literal["SingleStream", "Offline", "Server"]] = ["SingleStream", "Offline", "Server"]
    target_p99_ms: PositiveFloat = 50.0  # Server: LoadGen's latency target at the 99th percentile
    targets: dict[str, PositiveFloat] = {}  # model label -> its own p99 target (ms)
    max_batch: PositiveInt = 32  # the dynamic batcher's largest batch
    max_wait_ms: float = Field(2.0, ge=0)  # ... and the longest a request waits for others to join it
    qps_min: PositiveFloat | None = None  # Server capacity search bounds; default: half the SingleStream QPS
    qps_max: PositiveFloat | None = None  # ... and the Offline samples/s (no server beats its own Offline rate)
    search_steps: PositiveInt = 6  # offered QPS values tried per model (each may rerun once, longer: early stopping)
    min_duration_ms: PositiveInt = 2000  # per LoadGen test
    min_query_count: PositiveInt = 500  # per test; Server's p99 early stopping needs about 460 for a VALID verdict
    min_agreement: float = Field(0.99, ge=0, le=1)  # answers under load vs batch evaluation; below: an error
    split: Split | None = None  # the requests; default: the task's first evaluation split
    models: list[str] = []  # model labels to serve; default: every model


class Suite(Strict):
    name: str
    description: str | None = None
    seed: Seed = 0
    seeds: list[Seed] | None = Field(None, min_length=1)  # each quality cell once per seed (ids gain /seed<k>)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: DType = "fp32"  # autocast for training/eval on CUDA
    threads: PositiveInt | None = None  # torch CPU threads; default: torch's choice (all cores)
    # Where training units run (bench/quality/units.py): in this process, a pool of `workers` fresh interpreters
    # (each with `threads` torch threads), or Ray tasks. Placement only: results are the same, so
    # `--resume` may change these (PLACEMENT).
    launcher: Literal["inline", "process", "ray"] = "inline"
    workers: PositiveInt | None = None  # process pool size; > 1 alone means launcher process; default: cores
    timeout_minutes: PositiveFloat | None = None  # a unit running longer is stopped: status timeout (process, ray)
    ray_address: str | None = None  # launcher ray: a cluster ($RAY_ADDRESS wins); default: a local Ray
    tasks: list[TaskSpec] = []
    perf: PerfSpec | None = None
    # deployment variants scored (and timed) after each model trains; bench/variants
    variants: list[Literal["fp32", "bf16", "fp16", "int8-dynamic", "onnx", "compile"]] = ["fp32"]
    variant_perf: VariantPerf = VariantPerf()
    serve: ServeSpec | None = None
    # tracker sinks the finished run is sent to (bench/sinks; `run --log-to`); where results go, not what they are
    log_to: list[Literal["mlflow", "wandb", "tensorboard"]] = []
    required: bool = False  # the default of each model's `required` (a model's own `required` wins)

    @model_validator(mode="after")
    def _required_default(self) -> Suite:
        for m in [*(m for t in self.tasks for m in t.models), *(self.perf.models if self.perf else [])]:
            if "required" not in m.model_fields_set:
                m.required = self.required
        return self


_SELF = sys.modules[__name__]  # handed to nlpbench.suite.salvage, which reads this module's specs
PLACEMENT = ("launcher", "workers", "timeout_minutes", "ray_address", "log_to")  # not what units compute


def suite_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists() or p.is_symlink():
        if not p.is_file():
            raise BadInput(f"suite: {missing(p)}")
        return p
    known = sorted(q.stem for q in SUITES_DIR.glob("*.yaml"))
    if name_or_path not in known:
        raise BadInput(unknown_name("suite", name_or_path, known))
    return SUITES_DIR / f"{name_or_path}.yaml"


def read_text(path: Path, limit: int) -> str:
    """A suite file's text: at most `limit` bytes read (more is refused by the budget), UTF-8 or one line."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BadInput(f"suite: {path}: line {line} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_suite(name_or_path: str, overrides: list[str] = ()) -> dict:
    """The raw suite mapping with overrides applied (not validated yet)."""
    path = suite_path(name_or_path)
    try:
        raw = budget.load(read_text(path, budget.MAX_BYTES), f"suite: {path}")
    except yaml.YAMLError as e:
        raise BadInput(f"suite: {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise BadInput(f"suite: {path} must be a mapping with keys name, tasks, perf; given {type(raw).__name__}")
    return apply_overrides(raw, list(overrides))


def load_suite(name_or_path: str, overrides: list[str] = (), data_dir: str | None = None) -> Suite:
    """Reads, overrides and validates a suite; raises BadInput listing every problem."""
    return validate(read_suite(name_or_path, overrides), data_dir=data_dir)


def validate(raw: dict, data_dir: str | None = None, check_files: bool = True) -> Suite:
    early = raw_problems(raw)  # non-finite numbers and unsafe names, which the types let through
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as e:
        from nlpbench.suite import salvage  # the models' own problems, past a schema error

        found = early + format_errors(e, Suite) + salvage.salvaged_problems(raw, _SELF)
        raise BadInput(list(dict.fromkeys(found))) from None
    problems = early + _semantic_problems(suite, data_dir, check_files)
    if problems:
        raise BadInput(problems)
    return suite


def _semantic_problems(suite: Suite, data_dir: str | None, check_files: bool) -> list[str]:
    problems: list[str] = []
    repeated = [s for i, s in enumerate(suite.seeds or []) if s in suite.seeds[:i]]
    if repeated:  # a repeated seed trains the same cells twice under one id
        problems.append(f"seeds: each seed once; {', '.join(map(str, dict.fromkeys(repeated)))} repeated in {suite.seeds}")
    for ti, task in enumerate(suite.tasks):
        at = f"tasks.{ti}"
        for mi, m in enumerate(task.metrics or []):  # an entry naming this task kind, or a plugin (tried here)
            problems += [f"{at}.metrics.{mi}: {p}" for p in metric_entries.problems(m, task.task)]
        problems += _dataset_problems(task, f"{at}.dataset", data_dir, check_files)
        select = task.select_metric or get_task(task.task).select_metric
        problems += [f"{at}.targets.{m}: targets are read from the validation curve of the selection metric "
                     f"'{select}'; set select_metric: {m} to target it" for m in task.targets if m != select]
        names = [m.label for m in task.models]
        for mi, m in enumerate(task.models):
            if names.count(m.label) > 1:
                problems.append(f"{at}.models.{mi}.name: two models are named {shown(m.label)}; give each a distinct name")
            problems += model_problems(m, task.task, f"{at}.models.{mi}")
    for mi, m in enumerate(suite.perf.models if suite.perf else []):
        problems += model_problems(m, m.task, f"perf.models.{mi}")
    if suite.perf and suite.perf.launcher == "ray":
        problems += missing_extra("ray", "ray", "perf.launcher: 'ray'")
    if suite.launcher == "ray" and not (suite.perf and suite.perf.launcher == "ray"):
        problems += missing_extra("ray", "ray", "launcher: 'ray'")
    from nlpbench.suite.stages import STAGES

    return problems + [p for stage in STAGES if stage.active(suite) for p in stage.call("problems", suite)]


def model_problems(m: ModelSpec, task: str | None, at: str) -> list[str]:
    from nlpbench.registry import adapters, get_adapter

    table = adapters()
    if ":" in m.adapter:  # module:Class, imported here
        try:
            table = {m.adapter: get_adapter(m.adapter)}
        except BadInput as e:
            return [f"{at}.adapter: {p}" for p in e.problems]
    if m.adapter not in table:
        line = f"{at}.adapter: " + unknown_name("adapter", m.adapter, table)
        close = difflib.get_close_matches(m.adapter, list(table), n=1, cutoff=0.6)
        if not close or not (m.params or m.train):
            return [line]
        # its params and train keys checked as the adapter it most likely means: fixing the typo reveals nothing new
        guess = model_problems(m.model_copy(update={"adapter": close[0]}), None, at)
        return [line, *[f"{p} (checked as for {shown(close[0])})" for p in guess if not p.startswith(f"{at}.adapter")]]
    cls = table[m.adapter]
    problems = []
    if task is not None and task not in cls.tasks:  # None: the task kind is itself wrong (nlpbench.suite.salvage)
        problems.append(f"{at}.adapter: {shown(m.adapter)} does not do {task}; it does {', '.join(cls.tasks)}")
    try:
        adapter_config(cls, m.params)
    except BadInput as e:
        problems += [f"{at}.params.{p}" for p in e.problems]
    try:
        train_config(cls, m.train)
    except BadInput as e:
        problems += [f"{at}.train.{p}" for p in e.problems]
    if m.params.get("trust_remote_code") and not os.environ.get("NLPBENCH_TRUST_REMOTE_CODE"):
        problems.append(f"{at}.params.trust_remote_code: true needs the --trust-remote-code flag of `nlpbench run`")
    return problems


def train_config(cls: type, train: dict | None) -> TrainConfig:
    """The model's training settings; `train: null` (no training) keeps the defaults, for eval_batch_size."""
    merged = {**hook(cls, "train_defaults", {}), **(train or {})}
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as e:
        raise BadInput(format_errors(e, TrainConfig)) from None


def _dataset_problems(task: TaskSpec, at: str, data_dir: str | None, check_files: bool) -> list[str]:
    from nlpbench.data import resolve_path

    ds = task.dataset
    problems = []
    if ds.source == "files":
        if "train" not in ds.files:
            problems.append(f"{at}.files.train: required for source 'files'; given splits: {', '.join(ds.files) or 'none'}")
        if get_task(task.task).parallel_files and not (ds.src and ds.tgt):
            problems.append(f"{at}.src/tgt: translation from files needs both languages, e.g. src: de, tgt: en")
        for split, rel in ds.files.items():
            for lang in (ds.src, ds.tgt) if "{lang}" in rel else (None,):
                path = resolve_path(rel.replace("{lang}", lang or ""), data_dir)
                if check_files and not path.is_file():
                    problems.append(f"{at}.files.{split}: {missing(path)} (relative paths resolve against --data-dir, else $NLPBENCH_DATA)")
    if ds.holdout and ("validation" in ds.files or "validation" in ds.size or "validation" in ds.splits):
        problems.append(f"{at}.holdout: carves the validation split out of train; this dataset also names a "
                        "validation split — drop one of them")
    if ds.holdout and ds.holdout >= 1 and not float(ds.holdout).is_integer():
        problems.append(f"{at}.holdout: a fraction below 1 or a whole number of examples; given {ds.holdout}")
    if ds.source in ("synthetic", "hub") and not ds.name:
        problems.append(f"{at}.name: required for source '{ds.source}'")
    return problems
