# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest format lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[dev]'
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

# The image installs only from these (Dockerfile: --require-hashes). Re-run after changing
# pyproject.toml's dependencies or build-system, and commit both files.
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
lock: $(VENV)/.installed-dev
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file=requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --build-deps-for wheel --only-build-deps \
		--output-file=requirements-build.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
