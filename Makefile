# SmartCCP: every target sets up what is missing first (venv, pinned Python deps, npm deps, the
# offline Solidity compiler hook-up), so a fresh clone needs only `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOLC_VERSION := 0.8.28
SOLCX_DIR := $(CURDIR)/.tools/solcx
SOLC_SHIM := $(SOLCX_DIR)/solc-v$(SOLC_VERSION)
# anvil comes from npm; tools/bin/anvil runs it without writing old states to disk (see there).
ANVIL_DIR := $(CURDIR)/tools/bin
CAST_DIR := $(CURDIR)/node_modules/@foundry-rs/cast-linux-amd64/bin

# Test workers: one pytest process and one anvil each (pytest-xdist; tests/parallel.py plans the
# split). 2 = the cores of the reference machine; TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
CONTRACT_SOURCES := $(shell find contracts -name '*.sol' 2>/dev/null)
# Slither's verdict is kept until a contract, the triage table or slither's settings change.
SLITHER_STAMP := .build/slither.ok

export SOLCX_BINARY_PATH := $(SOLCX_DIR)
export PATH := $(CURDIR)/$(BIN):$(ANVIL_DIR):$(CAST_DIR):$(PATH)
export MPLBACKEND := Agg

.PHONY: setup compile abi check test coverage demo bench bench-scale backtest console clean
.DEFAULT_GOAL := help

help:
	@echo "make demo    - deploy on an embedded anvil, trade, clear, settle, run a default drill, print the report"
	@echo "make check   - slither static analysis (offline); fails on High/Medium findings not in docs/slither-triage.md"
	@echo "make test    - check and compile, then the whole test suite through ape on anvil (TEST_WORKERS=2 workers, one anvil each)"
	@echo "make coverage - the test suite with contract line/branch coverage: reports/coverage.json, .lcov, docs/testing.md"
	@echo "make bench   - gas and throughput benchmark (the scale figures on an anvil without step traces), writes reports/bench.json"
	@echo "make bench-scale - the scale day (#18: 200 members, 2,000 clients, 1,000 securities, 100,000 orders; about 3 min), writes reports/scale.json and .png"
	@echo "make backtest - portfolio back-test of the published margin model (chain-free, about 5 min), writes reports/backtest.json and .png"
	@echo "make console - ape console with the system at hand"
	@echo "make abi     - write abi/ from the build: ABIs, errors.json, signatures.json, the order's typed data (for cast: docs/clients.md)"

setup: $(VENV)/.installed node_modules/.installed $(SOLC_SHIM)

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	printf '\n# SmartCCP: offline compiler, anvil and cast\nexport SOLCX_BINARY_PATH="%s"\nexport PATH="%s:%s:$$PATH"\n' \
	  "$(SOLCX_DIR)" "$(ANVIL_DIR)" "$(CAST_DIR)" >> $(BIN)/activate
	touch $@

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

$(SOLC_SHIM): tools/solc.js node_modules/.installed
	mkdir -p $(SOLCX_DIR)
	printf '#!/bin/sh\nexec node "%s" "$$@"\n' "$(CURDIR)/tools/solc.js" > $@
	chmod +x $@

compile: setup
	$(BIN)/ape compile

# The contracts' interfaces for clients outside Python, committed (tests/chain/test_abi.py fails
# when they differ from the build): one ABI per deployed contract, errors by selector, full
# signatures for cast, the order's EIP-712 template. `ape run abi --check` only compares.
abi: compile
	$(BIN)/ape run abi

# Static analysis: slither on contracts/ (mocks in contracts/test excluded) through the offline
# solc-js shim; settings in slither.config.json, accepted findings in docs/slither-triage.md.
check: setup
	$(BIN)/python tools/slither_check.py --solc $(SOLC_SHIM)
	@mkdir -p .build && touch $(SLITHER_STAMP)

$(SLITHER_STAMP): $(CONTRACT_SOURCES) slither.config.json docs/slither-triage.md tools/slither_check.py ape-config.yaml
	$(MAKE) --no-print-directory check

# The check (unless its verdict is current) and the compile run side by side, both before any
# test: the workers then only read .build and never compile, let alone at the same time.
# The external-node tests mostly wait on real clocks (a settlement cycle's end on a node started
# outside the tests): with workers they run in a pytest process of their own beside them, so the
# waiting overlaps the workers' computing; their output follows the workers'.
EXTERNAL_TESTS := tests/e2e/test_external_nodes.py
test: setup
	$(MAKE) --no-print-directory -j2 --output-sync=target $(SLITHER_STAMP) compile
ifeq ($(TEST_WORKERS),0)
	$(BIN)/ape test tests
else
	@mkdir -p .build
	$(BIN)/ape test $(EXTERNAL_TESTS) -q -n 2 -o cache_dir=.build/pytest-external > .build/external-tests.log 2>&1 & ext=$$!; \
	$(BIN)/ape test tests --ignore=$(EXTERNAL_TESTS) -n $(TEST_WORKERS); status=$$?; \
	wait $$ext; ext_status=$$?; \
	echo "── $(EXTERNAL_TESTS) (run beside the workers) ──"; tail -n 40 .build/external-tests.log; \
	exit $$(( status != 0 || ext_status != 0 ))
endif

# Contract coverage of the real pytest suite: tools/coverage_tracer.py (a pytest plugin) replays
# every transaction and call the tests send with debug_traceTransaction / debug_traceCall and keeps
# the pcs executed; tools/coverage_report.py maps them to lines and branches through solc's source
# maps (same via-IR build as the tests) and rewrites the table in docs/testing.md. The report is
# written even when a test fails; the target then fails too.
coverage: setup
	rm -rf reports/coverage
	@start=$$(date +%s); \
	PYTHONPATH="$(CURDIR)/tools$${PYTHONPATH:+:$$PYTHONPATH}" $(BIN)/ape test tests -p coverage_tracer; status=$$?; \
	$(BIN)/python tools/coverage_report.py --note "\`make coverage\` took $$(( ($$(date +%s) - start + 30) / 60 )) min." \
	  && exit $$status

demo: setup
	$(BIN)/ape run demo

# The scale figures (src/smartccp/bench/scale.py) on an anvil without step traces (tools/bin/anvil).
bench: setup
	$(BIN)/ape run bench
	SMARTCCP_ANVIL_STEPS_TRACING=0 $(BIN)/ape run bench --only scale --merge

# The scale day (issue #18), not in CI nor in `make test` (its small twin is tests/scale/): a market
# of Eurex Clearing's shape on an anvil of its own, one trading day end to end. Sizes:
# SCALE_ARGS="--members 40 --orders 2000 ..." (`ape run bench_scale --help`).
SCALE_ARGS ?=
bench-scale: setup compile
	nice -n 10 $(BIN)/ape run bench_scale $(SCALE_ARGS)

# The portfolio back-test of the margin model the chain is given (issue #22; src/smartccp/bench/backtest.py):
# rolling, out of sample, the contract's integer IM against realised 5-day losses, Kupiec and
# Christoffersen per weekly phase. Chain-free; its small twin is tests/risk/models/test_risk_model.py.
backtest: setup
	$(BIN)/python -m smartccp.bench.backtest --out reports

console: setup
	$(BIN)/ape console

clean:
	rm -rf .build reports/*.json reports/*.png .tools
