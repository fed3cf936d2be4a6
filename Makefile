# `make demo` and `make test` each create or refresh .venv, install what they need, and run.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export OMP_WAIT_POLICY := PASSIVE
export NUMBA_CACHE_DIR := $(CURDIR)/.numba-cache

WEB     := web

.PHONY: demo test install player chromium bench fuzz mutation clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q cython setuptools wheel
	$(BIN)/pip install -q -e '.[test]'
	# the PAQ back-end: built against the venv's cython, so no build isolation
	$(BIN)/pip install -q --no-build-isolation 'paq>=0.1.1'
	touch $(STAMP)

install: $(STAMP) player

# the web player: npm packages from the lockfile, then esbuild bundles it into the Python package (no CDN at run time)
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund
	touch $@

player: $(WEB)/node_modules/.package-lock.json
	npm --prefix $(WEB) run build --silent

# headless Chromium for the player's browser tests (Debian's package; Playwright's own download cannot work here)
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped"; fi; }

# serves the demo stream with the player until Ctrl-C; SPLATCAST_DEMO_NO_SERVE=1 stops after the results
demo: $(STAMP) player
	$(BIN)/splatcast demo --out demo-out

test: $(STAMP) player chromium
	npm --prefix $(WEB) test --silent
	$(BIN)/python -m pytest -q

# one mutation at a time (flipped comparisons and constants in VQ, mode choice, bilateral prediction and the
# quantizer) applied to a copy of src/, each run against the codec tests that should catch it (~3 min)
mutation: $(STAMP)
	$(BIN)/python -m tests.mutation

# the quick benchmark suite (RD + BD-rate, decode time, progressive quality; ~2 min) into out/bench
bench: $(STAMP)
	$(BIN)/splatcast bench --quick --out out/bench

# every fuzz target for FUZZ_SECONDS each (default 130: 28 minutes for the 13 targets); prints executions,
# coverage and findings per target (crashes are written to tests/fuzz/findings/)
FUZZ_SECONDS ?= 130
fuzz: $(STAMP)
	$(BIN)/python -m fuzz.campaign --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) .numba-cache demo-out $(WEB)/node_modules src/splatcast/player/static
