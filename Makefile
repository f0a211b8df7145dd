# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest format lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What a new user installs is what CI tested and what the image runs: the locked versions, at
# their hashes (setuptools and wheel from requirements-build.lock, to build the project itself),
# then the project alone, resolving nothing. The stamps re-install when a lock changes.
LOCKED_INSTALL = PYTHONWARNINGS=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install --quiet
$(VENV)/.installed-build: requirements-build.lock | $(BIN)/python
	$(LOCKED_INSTALL) --require-hashes -r requirements-build.lock
	touch $@

$(VENV)/.installed: requirements.lock pyproject.toml $(VENV)/.installed-build
	$(LOCKED_INSTALL) --require-hashes -r requirements.lock
	$(LOCKED_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(VENV)/.installed-build
	$(LOCKED_INSTALL) --require-hashes -r requirements-dev.lock
	$(LOCKED_INSTALL) --no-deps --no-build-isolation -e .
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/ssm3bot demo

test: $(VENV)/.installed-dev lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check bot tests $(wildcard bench) $(wildcard docs/*.py)
	$(BIN)/ruff format --check bot tests $(wildcard bench) $(wildcard docs/*.py)

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --strict bot

# One worker a core: much of the suite waits on loopback servers, so two cores halve it.
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -n auto

format: $(VENV)/.installed-dev
	$(BIN)/ruff format bot tests $(wildcard bench)
	$(BIN)/ruff check --fix bot tests $(wildcard bench)

# The locks everything installs from: requirements.lock (runtime: the image, `make demo`),
# requirements-dev.lock (the same runtime pins plus the dev extras: `make test`, CI),
# requirements-build.lock
# (setuptools and wheel). Re-run after changing pyproject.toml's dependencies or build-system,
# or to take newer versions (`make lock UPGRADE=--upgrade`), and commit all three files.
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(UPGRADE)
lock: $(VENV)/.installed-dev
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev --constraint requirements.lock \
		--output-file=requirements-dev.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --build-deps-for wheel --only-build-deps \
		--output-file=requirements-build.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
