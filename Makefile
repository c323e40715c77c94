# Two commands on a fresh machine with only Python 3.11+ and make:
#   make run    open the evsim TUI on the default lessons
#   make test   run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,serve]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/evsim

test: $(BIN)/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/evsim bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
