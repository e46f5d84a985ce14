# nova_session developer commands. Each target sets up what it needs (a venv in .venv).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PY_SRC := python tests benches examples tools
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: help venv build browser test test-rust test-py bench fuzz demo lint fmt clean redaction-report

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

venv: $(VENV)/.ready ## create .venv with the build and test tools

$(VENV)/.ready: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# mypy <2: mypy 2 no longer accepts python_version = "3.9", the floor this package supports
	@# orjson: only the baseline of the benchmarks (benches/); the package never imports it
	$(PY) -m pip install --quiet "maturin>=1.9.4,<2" "pytest>=7" "hypothesis>=6" "pytest-benchmark>=4" "orjson>=3.10" "ruff>=0.6" "mypy>=1.11,<2" "atheris>=2.3"
	@# The real Claude Code CLI, for tests/realclient (it ships inside this wheel); pinned: its payloads are the contract
	$(PY) -m pip install --quiet "claude-agent-sdk==0.2.189"
	@# The oracle of the NOVA rule tests (tests/guard/test_nova_oracle.py); pinned: its results are the contract
	$(PY) -m pip install --quiet "nova-hunting==0.3.1"
	touch $@

build: venv ## build the Rust kernel into python/nova_session (release) and install the package editable
	rm -f python/nova_session/*.so
	$(VENV)/bin/maturin develop --release --quiet
	$(PY) -c "import nova_session._rust as k; print('built nova_session._rust', k.__version__)"

test-rust: venv ## cargo test of the pure-Rust parts
	cargo test --quiet

browser: ## install Debian's chromium for the report's browser test (no-op when chromium is on PATH)
	@command -v chromium >/dev/null 2>&1 || (apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

test-py: build browser ## pytest, both backends in one run (fails if the Rust kernel is missing)
	$(PY) -m pytest

test: build lint test-rust test-py ## build the extension, lint, cargo test, then pytest against both backends

demo: build ## replay a realistic session through the hooks, show it, write its report (ARGS=--keep keeps the project)
	$(PY) examples/demo.py $(ARGS)

bench: build browser ## benchmarks with timing on (the report's browser cases need chromium)
	$(PY) -c "import nova_session, sys; sys.exit(0 if nova_session.BACKEND == 'rust' else 'Rust kernel not loaded')"
	$(PY) -m pytest benches --benchmark-enable -q

fuzz: build ## fuzzing at length: 100,000 inputs per Rust property, 20,000 per Python property, atheris for 5 minutes
	PROPTEST_CASES=$${PROPTEST_CASES:-100000} cargo test --release --quiet --test fuzz_parsers
	NOVA_SESSION_FUZZ_EXAMPLES=$${NOVA_SESSION_FUZZ_EXAMPLES:-20000} $(PY) -m pytest -q tests/test_fuzz.py -p no:cacheprovider -k "not coverage_guided"
	scratch=$$(mktemp -d) && TMPDIR=$$scratch $(PY) tests/fuzz/atheris_targets.py -max_total_time=$${FUZZ_SECONDS:-300} \
	  -max_len=8192 -artifact_prefix=$$scratch/ -print_final_stats=1; status=$$?; \
	  ls $$scratch/crash-* 2>/dev/null; rm -rf $$scratch; exit $$status

redaction-report: build ## recall and precision of secret redaction on the labelled corpus (tests/redaction_corpus), per category
	$(PY) benches/redaction_report.py

fmt: venv ## format the Rust and Python code (cargo fmt, ruff format, ruff check --fix)
	cargo fmt --all
	$(VENV)/bin/ruff format $(PY_SRC)
	$(VENV)/bin/ruff check --fix $(PY_SRC)

lint: build ## rustfmt, clippy, ruff (lint and format), mypy, and stubtest against the built kernel
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/ruff check $(PY_SRC)
	$(VENV)/bin/ruff format --check $(PY_SRC)
	$(VENV)/bin/mypy python/nova_session
	$(PY) -m mypy.stubtest nova_session._rust

clean: ## remove build outputs and the venv
	rm -rf target $(VENV) python/nova_session/*.so .pytest_cache .benchmarks
