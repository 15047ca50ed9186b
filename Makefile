# GoFastAPI gates. The same commands run locally and in CI.
#   make run    set up, build and serve the example app on http://127.0.0.1:8000
#   make test   set up, build and run every test (Go, Python unit, end-to-end)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := bin/gofastapi-server
GO_SOURCES := $(shell find . -name '*.go' -not -path './.venv/*') $(wildcard pyruntime/*.c pyruntime/*.h) $(wildcard gofastapi/*.py) go.mod
PORT ?= 8000

.PHONY: setup build run test test-go test-unit test-e2e bench lint fmt clean

setup: build/python.env
build/python.env: scripts/setup.sh scripts/find-python.sh requirements-dev.txt
	scripts/setup.sh

build: $(BIN)
$(BIN): build/python.env $(GO_SOURCES)
	scripts/build.sh

run: build
	$(BIN) --app app:app --app-dir examples/hello --port $(PORT)

test: build test-go test-unit test-e2e

test-go: build/python.env
	set -a && source build/python.env && set +a && go test -race -count=1 ./...

test-unit: setup
	$(PY) -m pytest -q tests/unit

test-e2e: build
	$(PY) -m pytest -q tests/e2e

bench: build
	scripts/setup-bench.sh
	$(PY) benchmarks/run.py --server $(BIN) --python $(PY)

lint: setup
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	set -a && source build/python.env && set +a && go vet ./...
	$(PY) -m ruff check gofastapi tests benchmarks examples

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(PY) -m ruff format gofastapi tests benchmarks examples

clean:
	rm -rf bin build
