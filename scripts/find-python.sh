#!/usr/bin/env bash
# Prints the path of a CPython >= 3.13 (GIL build, shared libpython, embed
# pkg-config file) suitable for embedding, or fails with a clear message.
# $PYTHON, if set, is the only candidate considered.
set -euo pipefail

check() {  # check PATH-TO-PYTHON: prints nothing, returns 0 if suitable
  "$1" - <<'PY' 2>/dev/null
import os, sys, sysconfig
v = sys.version_info
assert v >= (3, 13), "too old"
assert not sysconfig.get_config_var("Py_GIL_DISABLED"), "free-threaded"
assert sysconfig.get_config_var("Py_ENABLE_SHARED"), "no shared libpython"
pc = os.path.join(sysconfig.get_config_var("LIBPC") or "", f"python-{v.major}.{v.minor}-embed.pc")
assert os.path.exists(pc), "no embed .pc"
PY
}

describe() {  # why a candidate is unsuitable
  "$1" -c 'import sys,sysconfig; print(sys.version.split()[0], "shared" if sysconfig.get_config_var("Py_ENABLE_SHARED") else "static")' 2>/dev/null || echo "not runnable"
}

if [ -n "${PYTHON:-}" ]; then
  if check "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not usable ($(describe "$PYTHON")): GoFastAPI needs CPython 3.13 or newer built with --enable-shared (3.12 crashes with own-GIL sub-interpreters)" >&2
  exit 1
fi

candidates=()
for v in 3.15 3.14 3.13; do
  command -v "python$v" >/dev/null 2>&1 && candidates+=("$(command -v "python$v")")
done
if command -v pyenv >/dev/null 2>&1 || [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for d in $(ls -d "$root"/versions/3.1[3-9]* 2>/dev/null | sort -Vr); do
    for exe in "$d"/bin/python3.1[3-9]; do [ -x "$exe" ] && candidates+=("$exe"); done
  done
fi
for exe in /usr/local/bin/python3.1[3-9] /usr/bin/python3.1[3-9] /usr/local/bin/python3 /usr/bin/python3; do
  [ -x "$exe" ] && candidates+=("$exe")
done
for exe in "${candidates[@]}"; do
  if check "$exe"; then echo "$exe"; exit 0; fi
done
echo "error: no suitable Python found. GoFastAPI needs CPython 3.13 or newer with a shared libpython and its python-3.X-embed.pc" >&2
echo "       (tried: ${candidates[*]:-none}). Install one (e.g. 'pyenv install 3.13' with PYTHON_CONFIGURE_OPTS=--enable-shared," >&2
echo "       or Debian's python3.13-dev) or point PYTHON at it: PYTHON=/path/to/python3.13 make setup" >&2
exit 1
