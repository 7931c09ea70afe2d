# Two entry points for a fresh machine: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup model kb run test bench clean

$(STAMP): pyproject.toml setup.py requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP) model

model: $(STAMP)
	$(BIN)/bigan model fetch
	$(BIN)/bigan model optimize

kb: setup
	$(BIN)/bigan index corpus

run: setup
	$(BIN)/python app.py

test: kb
	$(BIN)/python -m pytest

bench: kb
	$(BIN)/python bench/bench_kb.py
	$(BIN)/python bench/bench_embed.py
	$(BIN)/python bench/bench_peers.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_startup.py

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.lock
