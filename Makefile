# Every target works on a fresh clone with only python3 and pip.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest demo serve bench browser reliability screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## test: lint, type-check and run every test (browser tests included)
test: $(STAMP) browser lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check imagewidgets tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	mkdir -p .tmp
	$(VENV)/bin/pytest --basetemp=.tmp/pytest $(PYTEST_ARGS)

## browser: install Debian's chromium for the browser tests when missing (needs apt and root)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser tests will fail under CI=true"; \
	  else echo "chromium is missing and apt-get is not usable: browser tests will be skipped (failed under CI=true)"; fi; }

## demo: JupyterLab on the quickstart notebook in demo/, a working copy of notebooks/ (the built-in
## emulator when OPENAI_API_KEY is unset); DEMO_ARGS='--dir FOLDER --ServerApp.port=8889' for others
demo: $(STAMP)
	$(PY) -m imagewidgets demo $(DEMO_ARGS)

## serve: the built-in emulator in the foreground, for workshops and other projects' tests
serve: $(STAMP)
	$(PY) -m imagewidgets serve --port 8000

## reliability: the hardening suites (faults, load, hostile servers, bad input, secrets, markup),
## ending with the table of figures the README shows
RELIABILITY := tests/test_faults.py tests/test_load.py $(wildcard tests/test_hostile_*.py) \
  tests/test_secrets.py tests/browser/test_secrets_browser.py tests/browser/test_xss_browser.py
reliability: $(STAMP) browser
	mkdir -p .tmp
	$(VENV)/bin/pytest -q --basetemp=.tmp/reliability $(RELIABILITY)

## bench: every benchmark, each figure a ratio measured side by side, into benchmarks/results.json;
## CHECK=1 fails on a missed goal, QUICK=1 (CI) only checks every figure is computed; B12-B15 drive
## JupyterLab in Chromium (benchmarks/bench_browser.py)
bench: $(STAMP) browser
	$(PY) benchmarks/run.py $(if $(filter 1,$(QUICK)),--quick) $(if $(filter 1,$(CHECK)),--check)

## screenshots: docs/panel-200-tiles.png and docs/compare-repeats.png, taken in JupyterLab + Chromium
## on the emulator (not part of test, bench or CI)
screenshots: $(STAMP) browser
	$(PY) benchmarks/screenshots.py docs

clean:
	rm -rf $(VENV) .tmp .pytest_cache .mypy_cache .ruff_cache
