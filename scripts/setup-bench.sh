#!/usr/bin/env bash
# Install what benchmarks/run.py needs: wrk (Debian package) and the pinned
# peers (FastAPI + Uvicorn) into the repo's .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    echo "setup-bench: .venv is missing: run make setup first" >&2
    exit 1
fi

if ! command -v wrk >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # update the package lists only when apt has none yet or cannot find wrk
    if ! apt-cache show wrk >/dev/null 2>&1; then
        $SUDO apt-get update -qq
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
echo "setup-bench: $(wrk --version 2>&1 | head -1)"

.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
echo "setup-bench: $(.venv/bin/python -c 'import fastapi, uvicorn, sys; print(f"python {sys.version.split()[0]}, fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}")')"
