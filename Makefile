# `make demo` and `make test` each create or refresh .venv, install what they need, and run.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export OMP_WAIT_POLICY := PASSIVE
export NUMBA_CACHE_DIR := $(CURDIR)/.numba-cache

.PHONY: demo test install bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q cython setuptools wheel
	$(BIN)/pip install -q -e '.[test]'
	# the PAQ back-end: built against the venv's cython, so no build isolation
	$(BIN)/pip install -q --no-build-isolation 'paq>=0.1.1'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/splatcast demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .numba-cache demo-out
