# Two commands on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: demo test install dev system-deps lint bench clean mutation

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

## make mutation [MODULE=backtest/metrics]: mutation score of the core maths, module by module,
## each against its mirrored tests only (tests/<pkg>/test_<name>*.py); slow, so not part of
## `make test` or CI. Work files and the survivors list go to .mutation/<pkg>-<name>/.
MUTATION_MODULES := backtest/metrics backtest/attribution backtest/brinson backtest/costs backtest/engine \
	backtest/prices signals/concentration signals/breadth signals/claims playbook/context \
	playbook/selection playbook/trim playbook/constraints playbook/risk playbook/targets
MODULE ?= $(MUTATION_MODULES)
MUTATION_JOBS ?= 2
NICE ?= nice -n 10
mutation: $(if $(filter $(VENV)/bin,$(BIN)),dev)
	@for m in $(MODULE); do \
	  d=.mutation/$$(echo $$m | tr / -); \
	  tests="$(MUTATION_TESTS)"; [ -n "$$tests" ] || tests=$$(ls tests/$$(dirname $$m)/test_$$(basename $$m)*.py 2>/dev/null); \
	  [ -f src/broadening/$$m.py ] || { echo "mutation: no src/broadening/$$m.py"; exit 2; }; \
	  [ -n "$$tests" ] || { echo "mutation: no tests/$$(dirname $$m)/test_$$(basename $$m)*.py"; exit 2; }; \
	  rm -rf $$d && mkdir -p $$d && ln -s ../../src ../../tests ../../docs ../../examples $$d/ && cp pyproject.toml $$d/ && \
	  printf '[mutmut]\nsource_paths = src\nonly_mutate = src/broadening/%s.py\nalso_copy =\n    docs\n    examples\npytest_add_cli_args_test_selection =\n' $$m > $$d/setup.cfg && \
	  for t in $$tests; do printf '    %s\n' $$t >> $$d/setup.cfg; done && \
	  echo "mutation: $$m against $$(echo $$tests) (log: $$d/run.log)" && \
	  ( cd $$d && { $(NICE) $(abspath $(BIN))/mutmut run --max-children $(MUTATION_JOBS) > run.log 2>&1 || { tail -c 3000 run.log; exit 1; }; } && \
	    $(abspath $(BIN))/mutmut export-cicd-stats > /dev/null && \
	    $(abspath $(BIN))/mutmut results > survivors.txt && \
	    $(abspath $(BIN))/python -c 'import json, os; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
	      n = s["total"] - s["skipped"]; k = s["killed"] + s["timeout"]; sv, nt = s["survived"], s["no_tests"]; \
	      print(f"  {k}/{n} killed = {100 * k / max(n, 1):.1f}% (survived {sv}, not reached by a test {nt}); list: {os.getcwd()}/survivors.txt (diff: mutmut show NAME there)")' \
	  ) || exit 1; \
	done

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache .mutation
