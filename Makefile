# A thin wrapper over scripts/: every target is one script, or a command from the venv.
#
#   make test          the test suite, real Secret Service included (what CI runs)
#   make lint          ruff check, ruff format --check, mypy
#   make check         lint + test
#   make bootstrap     the venv only (.venv, or $IAMCLI_VENV)
#   make system-deps   the Debian packages (dbus, gnome-keyring, curl, make, python3-venv)
#   make demo          the main job against iamcli serve, in a temporary directory
#   make bench         the benchmarks: CLI hot paths vs python/gh/curl/IBM SDK, then server load
#   make ibm-it        IBM's own IAM Identity tests against iamcli serve (IBM_PY_SDK_DIR, IBM_NODE_SDK_DIR)
#   make ci            what .ci/run does
#   make clean         caches and build output (not the venv; `make distclean` removes it too)
#
#   make test PYTEST_ARGS='-k token -x'     pass arguments to pytest

VENV ?= $(or $(IAMCLI_VENV),.venv)
export IAMCLI_VENV := $(VENV)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
# Prerequisites run in the order written (system packages before the venv before the tests).
.NOTPARALLEL:
.PHONY: test lint check bootstrap system-deps demo bench ibm-it ci clean distclean help

help:
	@sed -n '3,15s/^# \{0,1\}//p' Makefile

system-deps:
	scripts/system-deps

bootstrap:
	scripts/bootstrap

test: system-deps bootstrap
	IAMCLI_TEST_REAL_KEYRING=1 scripts/with-keyring $(PY) -m pytest -q $(PYTEST_ARGS)

lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check: lint test

demo: system-deps bootstrap
	scripts/with-keyring scripts/demo

bench: bootstrap
	scripts/system-deps --bench
	$(PY) benchmarks/cli_bench.py $(BENCH_ARGS)
	$(PY) benchmarks/serve_load.py $(BENCH_ARGS)

ibm-it: bootstrap
	scripts/ibm-it $(IBM_IT_SUITES)

ci:
	.ci/run

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist .demo
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .ibm-it
