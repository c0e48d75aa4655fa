# Everything the project needs is installed by these targets: a fresh machine
# runs `make demo` and `make test` and nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := test,testing,aiohttp,speedups,redis,cli,distributed,examples

.PHONY: install test lint typecheck pytest clean codegen check-codegen services

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever the project metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check cme_async codegen tests examples
	$(BIN)/ruff format --check cme_async/_generated

typecheck: $(STAMP)
	$(BIN)/mypy --strict cme_async

# Real servers the tests start on loopback ports of their own (tests/redis_server.py).
services:
	scripts/ensure-debian-packages redis-server=redis-server

pytest: $(STAMP) services
	$(BIN)/python -m pytest -q

# Regenerate cme_async/_generated/ and docs/actions.md from specs/*.yaml.
codegen: $(STAMP)
	$(BIN)/python -m codegen

# Fail (listing the files) when the committed generated output differs from a fresh run.
check-codegen: $(STAMP)
	$(BIN)/python -m codegen --check

test: check-codegen lint typecheck pytest

# The SDK's main job on the embedded default: start the emulator (seeded) on a free
# localhost port, run examples/quickstart.py against it over TCP with CME_* set, stop it.
.PHONY: demo
demo: $(STAMP)
	$(BIN)/python -m cme_async.testing --seed --run $(BIN)/python examples/quickstart.py

# `cme batch` on 2,000 items (reads, class creations, 40 deletes of missing materials)
# against the emulator on a free localhost port: progress, then the summary (docs/batch.md).
.PHONY: demo-batch
demo-batch: $(STAMP)
	@set -e; dir=$$(mktemp -d); \
	$(BIN)/python -c 'import json; me={"Type":"PERSON","Id":"demo_user"}; \
	  row=lambda i: {"id":str(i),"action":"Material/DeleteMaterial","body":{"MaterialId":"gone-%d" % i}} if i % 50 == 7 \
	    else {"id":str(i),"action":"Material/CreateClass","body":{"ParentClassId":-1,"Name":"demo-%d" % i,"Owner":me}} if i % 10 == 0 \
	    else {"id":str(i),"action":"Material/SearchMaterial","body":{"SearchScopes":[{"Platform":"1000000009","Owner":me}],"Limit":5}}; \
	  print("\n".join(json.dumps(row(i)) for i in range(2000)))' > $$dir/calls.jsonl; \
	$(BIN)/python -m cme_async.testing --seed --run $(BIN)/cme batch $$dir/calls.jsonl \
	  --out $$dir/results.jsonl --concurrency 64 || test $$? -eq 7; \
	echo "results: $$(wc -l < $$dir/results.jsonl) lines in $$dir/results.jsonl"

# The fault-injection suite at 10x its batch sizes (100,000 calls, 200,000 under
# tracemalloc); bounded, loopback only, about 15 minutes on two cores. Not part of `make test`.
.PHONY: soak
soak: $(STAMP)
	CME_SOAK_SCALE=10 $(BIN)/python -m pytest -q tests/resilience

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache

# Benchmarks (benchmarks/README.md): installs the `bench` extra and, if missing, nginx
# from Debian's packages; writes benchmarks/results/latest.{json,md,png}. Not part of `make test`.
.PHONY: bench
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS),bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run
