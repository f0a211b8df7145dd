# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest format clean

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

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

format: $(VENV)/.installed-dev
	$(BIN)/ruff format bot tests $(wildcard bench)
	$(BIN)/ruff check --fix bot tests $(wildcard bench)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
