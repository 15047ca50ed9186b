#!/usr/bin/env bash
# One-time set-up on a fresh machine: finds CPython >= 3.13, makes the venv
# .venv with it and installs the development and test requirements.
# Idempotent: a second run only re-checks. PYTHON=/path overrides the search.
set -euo pipefail
cd "$(dirname "$0")/.."

python=$(scripts/find-python.sh)
mkdir -p build
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
libpc=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBPC"))')
libdir=$("$python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed; GoFastAPI needs Go 1.26 or newer (https://go.dev/dl/)" >&2
  exit 1
fi
if ! command -v pkg-config >/dev/null 2>&1; then
  echo "installing pkg-config (needed by cgo to find libpython)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq pkg-config >/dev/null
  else
    echo "error: pkg-config is missing; install it with your package manager" >&2; exit 1
  fi
fi

# A venv made by another Python version cannot be used by the server.
if [ -f .venv/pyvenv.cfg ] && ! grep -Eq "^version(_info)? = ${version//./\\.}\\." .venv/pyvenv.cfg; then
  echo "recreating .venv: it was made with another Python version" >&2
  rm -rf .venv
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.requirements-dev.sha
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# cgo finds libpython through pkg-config name python3-embed; a private copy
# of this version's .pc file pins it, whatever python3-embed.pc says.
mkdir -p build/pkgconfig
sed 's/^Name: .*/Name: python3-embed/' "$libpc/python-$version-embed.pc" > build/pkgconfig/python3-embed.pc
cat > build/python.env <<ENV
PYTHON=$python
PYTHON_VERSION=$version
PKG_CONFIG_PATH=$PWD/build/pkgconfig
CGO_LDFLAGS=-Wl,-rpath,$libdir
CGO_ENABLED=1
ENV
echo "set-up done: Python $version at $python, venv .venv" >&2
