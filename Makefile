# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean render-tools screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/eoi-bot seed --demo --if-empty
	$(BIN)/eoi-bot serve

# Chromium and Microsoft's Adaptive Cards renderer for the card tests (tests/render/): installed when missing.
render-tools:
	sh tests/render/install.sh

test: $(STAMP) render-tools
	$(BIN)/ruff check .
	$(BIN)/pytest

# The Teams cards of a headteacher's and an officer's day as PNGs in docs/screenshots/ (shown in the README).
screenshots: $(STAMP) render-tools
	$(BIN)/python -m tests.render.screenshots docs/screenshots

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) eoi-bot.db tests/render/node_modules
