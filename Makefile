# ganbench — the two commands a newcomer needs:
#   make install && make demo    (set up, then run suites/smoke.yaml and write a report)
#   make test                    (run the test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export MPLCONFIGDIR ?= $(CURDIR)/.cache/matplotlib
export TORCH_HOME   ?= $(CURDIR)/.cache/torch
export GANBENCH_CACHE ?= $(CURDIR)/.cache/ganbench

.PHONY: install test test-fast demo reproduce bench bench-gpu clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	# torch/torchvision first: the pinned pair lies on local disk here (see README)
	$(BIN)/pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import ganbench, torch, ray, torch_fidelity; print('ganbench installed:', ganbench.__version__, 'torch', torch.__version__)"

test:
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

# unit tests only (tests/unit, without the few marked integration): no Ray, no browser
test-fast:
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not integration" tests/unit

demo:
	$(BIN)/ganbench run suites/smoke.yaml

# the paper reproductions (suites/reproductions/, about an hour on 2 cores; finished runs are
# kept, an interrupted one resumes): one run folder each under reports/reproductions/
reproduce:
	$(BIN)/ganbench reproduce

bench:
	$(BIN)/python benchmarks/bench.py

# the CUDA path (about 5 minutes on a machine with a CUDA GPU; exits 2 without one)
bench-gpu:
	$(BIN)/python benchmarks/bench_gpu.py

clean:
	rm -rf .cache build *.egg-info
