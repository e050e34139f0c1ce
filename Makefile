PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "aflab needs Python >= 3.11: run make PYTHON=python3.11 ..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing aflab. The first install compiles llama.cpp (about 10 min on 2 cores);"
	@echo "pip caches the result, so later installs on this machine take seconds."
	$(BIN)/python -m pip install --progress-bar off -e '.[embedded,api,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aflab run

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) logs .pytest_cache
