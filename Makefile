# Inkwell: `make run` starts the whole site, `make test` runs every test.
PYTHON ?= python3
# Extra pytest arguments for `make test`, e.g. make test ARGS="-k api -x".
ARGS ?=
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install browser docs screenshots

# Runtime packages (requirements.txt, all the image installs) plus tests and tools (requirements-dev.txt).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

run: install
	$(BIN)/python -m webapp.run

test: install browser
	$(BIN)/python -m pytest $(ARGS)

# The documentation site, built into site/ (`.venv/bin/mkdocs serve` shows it while you edit).
docs: install
	$(BIN)/python -m mkdocs build --strict

# The screenshots in docs/img/, taken from a running site (`make run`; see docs/screenshots.py).
screenshots: install browser
	$(BIN)/python -m docs.screenshots
