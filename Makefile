# Two commands on a fresh machine with only Python 3.11+ and make:
#   make run    open the evsim TUI on the default lessons
#   make test   run the whole test suite
# For live mode (evsim live, docs/live.md) and the tests against a real RabbitMQ
# (tests/live/, tests/differential/):
#   make broker       start Debian's rabbitmq-server on 127.0.0.1:5672 (state in .broker/)
#   make broker-stop  stop it
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean broker broker-stop constraints

# constraints.txt pins every package to the versions the snapshots were made with.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench,serve,cluster]'
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

# Re-resolve the newest versions pyproject.toml allows, in a scratch venv, and pin them.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet -e '.[dev,bench,serve,cluster]'
	{ sed -n '1,3p' constraints.txt; .venv-constraints/bin/python -m pip freeze --exclude-editable \
	  | grep -v '^evsim'; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .venv-constraints

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
