# Two commands on a fresh machine: `make run` (the dashboard on the embedded defaults) and
# `make test` (the whole suite). Everything else here serves those two.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The small CPU build, installed before the project so pyproject's torch range is already met
# and pip never reaches for a multi-GB CUDA wheel. Override on machines that want another build,
# e.g. `make run TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_SPEC ?= torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8501
# Optional extras for a team installation, e.g. `make run EXTRAS=postgresql,s3` (PostgreSQL driver,
# S3 artifact store). The embedded defaults need none.
EXTRAS ?=

.PHONY: run test install install-test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".$(if $(EXTRAS),[$(EXTRAS)])"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/python -m dashboard.preflight --address $(HOST)
	$(BIN)/python -m core db upgrade
	$(BIN)/python -m core data bootstrap
	$(BIN)/python -m streamlit run dashboard/app.py --server.address $(HOST) --server.port $(PORT)

test: install-test
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/lint-imports

format: install-test
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

bench: install-test
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
