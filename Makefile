# Two commands on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test install dev system-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## make demo: the whole chain on the embedded synthetic market; prints where the report is
demo: install
	BROADENING_WAREHOUSE=$(OUT)/demo.duckdb $(BIN)/broadening demo --out $(OUT)

## make test: dev dependencies, Chromium for the browser test (when root), the whole suite
test: dev system-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

system-deps:
	@bash scripts/install-system-deps.sh

lint: dev
	$(BIN)/ruff check src tests benchmarks

bench: dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
