#!/usr/bin/env bash
# Builds bin/gofastapi-server against the Python found by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/python.env ] || scripts/setup.sh
set -a
# shellcheck disable=SC1091
. build/python.env
set +a
version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
go build -trimpath -ldflags "-s -w -X main.Version=$version" -o bin/gofastapi-server ./cmd/gofastapi-server
echo "built bin/gofastapi-server ($version, Python $PYTHON_VERSION)" >&2
