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
# Test processes for `make test` (pytest-xdist): `auto` is one per core; TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= auto
# Where `make docs` writes the site (gitignored).
SITE ?= site

# The install stamp is named after what it installed, so another EXTRAS or TORCH_SPEC is another
# stamp: `make run EXTRAS=s3` after a first install does install the S3 packages.
INSTALL_ID := $(shell printf '%s|%s' '$(TORCH_SPEC)' '$(EXTRAS)' | cksum | cut -d' ' -f1)
INSTALLED := $(VENV)/.installed-$(INSTALL_ID)
TEST_INSTALLED := $(VENV)/.installed-test-$(INSTALL_ID)
comma := ,

.PHONY: run test install install-test lint format docs bench clean dask-scheduler dask-worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".$(if $(EXTRAS),[$(EXTRAS)])"
	touch $@

$(VENV)/.installed-dask: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e ".[dask]"
	touch $@

# The test install is the runtime install plus the test extras, so it is one pip run (a fresh clone's
# `make test` resolves and builds the project once) and it stamps the runtime install as well.
$(TEST_INSTALLED): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[test$(if $(EXTRAS),$(comma)$(EXTRAS))]"
	touch $(INSTALLED) $@

$(VENV)/.installed-docs: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

install: $(INSTALLED)

install-test: $(TEST_INSTALLED)

run: install
	$(BIN)/python -m dashboard.preflight --address $(HOST)
	$(BIN)/python -m core db upgrade
	$(BIN)/python -m core data bootstrap
	$(BIN)/python -m streamlit run dashboard/server.py --server.address $(HOST) --server.port $(PORT)

# Tests go out to the workers one by one, except those that share the Dask cluster or a
# module-scoped fixture, which stay on one worker (tests/support/scheduling.py). Tests marked `serial`
# time themselves to a fraction of a second, so they run alone once the rest is done. Both runs
# always happen; the first failure's exit code is the target's.
test: install-test
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	status=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not serial" --durations=15 || status=$$?; \
	$(BIN)/python -m pytest -m serial || { code=$$?; [ $$status -ne 0 ] || status=$$code; }; \
	exit $$status

lint: install-test
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/lint-imports

format: install-test
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir $(SITE)

bench: install-test
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(SITE) .pytest_cache .ruff_cache *.egg-info

# A Dask cluster for JOB_EXECUTOR=dask (docs/operators/dask.md), on this machine by default.
# Workers are not daemonic (each job body runs in a child process its worker can end) and a task
# whose worker died is not retried (allowed-failures 0: its job is recorded interrupted instead).
# Dashboards stay on loopback unless DASK_DASHBOARD says otherwise. With DASK_TLS_CA_FILE,
# DASK_TLS_CERT and DASK_TLS_KEY set, scheduler and workers demand mutual TLS.
DASK_HOST ?= 127.0.0.1
DASK_PORT ?= 8786
DASK_DASHBOARD ?= 127.0.0.1:8787
DASK_PROTOCOL := $(if $(DASK_TLS_CA_FILE),tls,tcp)
DASK_SCHEDULER_ADDRESS ?= $(DASK_PROTOCOL)://$(DASK_HOST):$(DASK_PORT)
DASK_NWORKERS ?= 1
DASK_RESOURCES ?=
DASK_TLS_FLAGS := $(if $(DASK_TLS_CA_FILE),--tls-ca-file $(DASK_TLS_CA_FILE) --tls-cert $(DASK_TLS_CERT) --tls-key $(DASK_TLS_KEY))

dask-scheduler: $(VENV)/.installed-dask
	DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 $(BIN)/dask scheduler --protocol $(DASK_PROTOCOL) \
		--host $(DASK_HOST) --port $(DASK_PORT) --dashboard-address $(DASK_DASHBOARD) $(DASK_TLS_FLAGS)

dask-worker: $(VENV)/.installed-dask
	DASK_DISTRIBUTED__WORKER__DAEMON=False $(BIN)/dask worker $(DASK_SCHEDULER_ADDRESS) \
		--nworkers $(DASK_NWORKERS) --nthreads 1 --no-dashboard $(DASK_TLS_FLAGS) \
		$(if $(DASK_RESOURCES),--resources "$(DASK_RESOURCES)")
