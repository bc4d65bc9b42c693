# `make demo` and `make test` build a virtual environment from scratch when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test bench clean

$(BIN)/forensics: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,plot,ray,parquet,trees]'
	touch $(BIN)/forensics

venv: $(BIN)/forensics

demo: venv
	$(BIN)/python -m cli.demo

test: venv
	$(BIN)/ruff check forensics cli tests benchmarks fixtures
	$(BIN)/mypy
	$(BIN)/python -m pytest -x

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
