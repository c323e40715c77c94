# Two commands on a fresh machine with only Python 3.11+ and make:
#   make run    open the evsim TUI on the default lessons
#   make test   run the whole test suite
# For the differential tests against a real RabbitMQ (tests/differential/):
#   make broker       start Debian's rabbitmq-server on 127.0.0.1:5672 (state in .broker/)
#   make broker-stop  stop it
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean broker broker-stop

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

broker:
	@.ci/broker start

broker-stop:
	@.ci/broker stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
