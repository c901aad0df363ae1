# Channel-choice analytics for collections. `make` sets up and builds; `make test` runs every test.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
SCENARIO ?= cn_default
SEED    ?= 1
DATA    ?= data/generated/$(SCENARIO)

.DEFAULT_GOAL := all
.PHONY: all setup build data test bench docs clean help

all: build ## set up the environment and build on the default scenario

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

setup: $(BIN)/.installed ## create .venv and install the pinned requirements

data: setup ## generate the default dataset if it is missing
	@if [ -f $(DATA)/manifest.json ]; then echo "using $(DATA) (delete it to regenerate)"; \
	else $(BIN)/python -m analysis generate --scenario $(SCENARIO) --seed $(SEED) --out $(DATA); fi

build: data ## validate the dataset and print its summary
	$(BIN)/python -m analysis validate $(DATA)

test: setup ## run all tests
	$(BIN)/python -m pytest -q

bench: setup ## run the speed and memory benchmarks (minutes; large data in benchmarks/out)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_engine.py

docs: setup ## rewrite the data dictionary in data/README.md from the contract
	$(BIN)/python -m analysis.contract data/README.md

clean: ## remove generated data and caches (keeps .venv)
	rm -rf data/generated benchmarks/out .pytest_cache
