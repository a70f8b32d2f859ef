# Two commands matter: `make run` and `make test`. Both build the environment first,
# from the hash-pinned lock file, so they work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lock bench check clean browser

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cytobot console

# The pack studio's browser tests drive Debian's Chromium through Playwright (never a browser
# Playwright downloads): install it when it is missing.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "make: $(CHROMIUM) is missing; installing Debian's chromium for the studio's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

test: $(STAMP) browser
	$(BIN)/cytobot content check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/cytobot content check

# `make bench` lists the benchmarks; `make bench BENCH="core questions"` runs those.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

# Regenerate the locks after changing dependencies in pyproject.toml (needs uv): the
# development lock (with the dev extras), then the runtime lock for the image, constrained
# to the same versions.
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	uv pip compile pyproject.toml -c requirements.lock --generate-hashes --python-version 3.11 --no-header -o requirements-runtime.lock

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
