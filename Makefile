# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/eoi-bot seed --demo --if-empty
	$(BIN)/eoi-bot serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# A whole window at county scale with faults (sim/); SEED=N picks another seed, SCHOOLS=N another register.
SEED ?= 1
SCHOOLS ?= 550
simulate: $(STAMP)
	$(BIN)/python -m sim --seed $(SEED) --schools $(SCHOOLS)

clean:
	rm -rf $(VENV) eoi-bot.db
