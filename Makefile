# Two commands on a fresh machine: `make run` and `make test`. Both install exactly what requirements.lock pins,
# each file checked against its sha256 (--require-hashes); `make lock` refreshes the lock from pyproject.toml.
# uv installs it (about 8 s where pip takes 40, most of a fresh clone's install), compiled to bytecode as pip does,
# so the test processes don't each compile the same modules; uv itself comes from tools.lock, by pip, by hash too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
TOOLS_LOCK := tools.lock
UV := $(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode
# uv writes the lock (a universal resolution: one file for Linux, macOS and Windows, Python 3.11+, with the hash
# of every wheel and sdist) and installs it. Its release is pinned here and, with its hashes, in tools.lock.
UV_VERSION := 0.13.9
# What the lock is made from: pyproject.toml's dependencies and the [test] extra, plus the build backend
# ([build-system] requires) and pip, so that installing eoi-bot itself fetches nothing unpinned either.
LOCK_INPUTS := $(BIN)/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires'] + ['pip']))"

.PHONY: run test lint bench simulate simulate-quick lock clean render-tools screenshots

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: $(TOOLS_LOCK) | $(VENV)/bin/python
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(TOOLS_LOCK)
	touch $(BIN)/uv

$(STAMP): $(LOCK) pyproject.toml $(BIN)/uv
	$(UV) --require-hashes -r $(LOCK)
	$(UV) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The demo serves the web form too (docs/WEB-FORM.md): its signing secret is made once, kept in .web-demo-secret,
# and a sign-in link for a demo school that no chat reaches is printed before the service starts.
WEB_DEMO_SECRET := .web-demo-secret
run: $(STAMP)
	$(BIN)/eoi-bot seed --demo --if-empty
	@test -s $(WEB_DEMO_SECRET) || (umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $(WEB_DEMO_SECRET))
	@EOI_WEB_BASE_URL="$${EOI_WEB_BASE_URL:-http://127.0.0.1:3978}" EOI_WEB_SECRET="$${EOI_WEB_SECRET:-$$(cat $(WEB_DEMO_SECRET))}" \
		sh -c 'echo "The web form for a demo school no chat reaches (Hillcrest Primary School, 114001): open"; \
		$(BIN)/eoi-bot web-link 114001 2>/dev/null && exec $(BIN)/eoi-bot serve'

# Chromium and Microsoft's Adaptive Cards renderer for the card tests (tests/render/): installed when missing.
render-tools:
	sh tests/render/install.sh

test: $(STAMP) render-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The Teams cards of a headteacher's and an officer's day as PNGs in docs/screenshots/ (shown in the README).
screenshots: $(STAMP) render-tools
	$(BIN)/python -m tests.render.screenshots docs/screenshots

bench: $(STAMP)
	$(BIN)/python -m bench

# A whole window at county scale with faults (sim/); SEED=N picks another seed, SCHOOLS=N another register,
# TEAMS_SDK=agents the Microsoft 365 Agents SDK for Teams (EOI_TEAMS_SDK).
SEED ?= 1
SCHOOLS ?= 550
TEAMS_SDK ?= botbuilder
simulate: $(STAMP)
	$(BIN)/python -m sim --seed $(SEED) --schools $(SCHOOLS) --teams-sdk $(TEAMS_SDK)

# The small seed (30 schools, about a minute) as a test asserting every invariant but the timed one (also in `make test`).
simulate-quick: $(STAMP)
	$(BIN)/pytest -n 0 tests/simulation/test_simulation.py

# Refresh the lock after changing dependencies in pyproject.toml: pins already in the lock are kept, new or changed
# requirements are resolved. `make lock UPGRADE=1` moves every pin to the newest release that fits.
lock: | $(VENV)/bin/python
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	echo uv==$(UV_VERSION) | $(BIN)/uv pip compile - --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --quiet -o $(TOOLS_LOCK)
	$(LOCK_INPUTS) | $(BIN)/uv pip compile pyproject.toml - --extra test --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" \
		$(if $(UPGRADE),--upgrade) --quiet -o $(LOCK)

clean:
	rm -rf $(VENV) eoi-bot.db tests/render/node_modules $(WEB_DEMO_SECRET)
