# Channel-choice analytics for collections. `make` sets up and builds the reports; `make test` runs every test,
# `make test-fast` the quick ones (the inner loop).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
SCENARIO ?= cn_default
SEED    ?= 1
DATA    ?= data/generated/$(SCENARIO)
PYTEST_ARGS ?=
# The tests start many Python processes (kernels, the command line, benchmark smoke runs). Where
# PYTHONDONTWRITEBYTECODE is set (some machine images set it), each would compile the package's sources again and
# each pytest worker would rewrite the tests' assertions again; the tests keep the compiled files instead (in the
# git-ignored __pycache__ folders).
TEST_ENV := PYTHONDONTWRITEBYTECODE=
# the reports' language: `make LANG=zh` builds them in Simplified Chinese (into reports-zh/). Only a LANG given on
# make's command line counts: the shell's own LANG (a locale such as C.UTF-8) is not a reports' language, and the
# tools the recipes run get the locale C.UTF-8 instead of LANG=zh.
ifeq ($(origin LANG),command line)
REPORT_LANG := $(LANG)
override LANG := C.UTF-8
export LANG
else
REPORT_LANG := en
endif

.DEFAULT_GOAL := all
.PHONY: all setup reports build data validate test test-fast lint format bench bench-smoke docs clean help

all: reports ## set up the environment and build the reports on the default scenario

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# the package itself, editable: notebooks and scripts import `analysis` from this checkout
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18 or later) is needed to install reveal.js for the slides"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed ## create .venv, install the pinned requirements, the package (editable) and reveal.js (npm ci)

reports: setup ## execute the notebooks; write reports/ (HTML, slides, PowerPoint, PDF, index.html), generating the data if missing; LANG=zh: in Chinese, into reports-zh/
	$(BIN)/python -m analysis build --scenario $(SCENARIO) --seed $(SEED) --lang $(REPORT_LANG)

build: reports ## the same as reports

data: setup ## generate the default dataset if it is missing
	@if [ -f $(DATA)/manifest.json ]; then echo "using $(DATA) (delete it to regenerate)"; \
	else $(BIN)/python -m analysis generate --scenario $(SCENARIO) --seed $(SEED) --out $(DATA); fi

validate: data ## validate the dataset and print its summary
	$(BIN)/python -m analysis validate $(DATA)

test: setup ## run all tests (several minutes: notebooks, builds, browser, benchmark smoke runs)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)

test-fast: setup ## the quick tests only, for the inner loop: leaves out those marked slow (PYTEST_ARGS=... passes options)
	$(TEST_ENV) $(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow" $(PYTEST_ARGS)

lint: setup ## ruff (lint and format check), the import layers (import-linter), pyright (basic)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	node_modules/.bin/pyright

format: setup ## format the code with ruff and apply its safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup ## run the speed and memory benchmarks (minutes; large data in benchmarks/out)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_build.py

bench-smoke: setup ## run every benchmark on tiny data (seconds each; checks they still work; the figures mean nothing)
	$(BIN)/python benchmarks/bench_generate.py --smoke
	$(BIN)/python benchmarks/bench_engine.py --smoke
	$(BIN)/python benchmarks/bench_engine.py --smoke --engine spark
	$(BIN)/python benchmarks/bench_validate.py --smoke
	$(BIN)/python benchmarks/bench_build.py --smoke
	$(BIN)/python benchmarks/coverage_study.py --smoke
	$(BIN)/python benchmarks/decision_study.py --smoke

docs: setup ## rewrite the data dictionary in data/README.md from the contract
	$(BIN)/python -m analysis.data.contract data/README.md

clean: ## remove generated data, reports and caches (keeps .venv and node_modules)
	rm -rf data/generated benchmarks/out .pytest_cache reports reports.* reports-zh reports-zh.*
