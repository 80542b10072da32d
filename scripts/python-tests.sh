#!/usr/bin/env bash
# Installs the Python binding (bindings/python) into a venv and runs its pytest suite against
# the real broker.
#
# Usage: scripts/python-tests.sh [pytest args...]
#
# The venv lives in target/py-venv (created on first use; Debian's python is "externally
# managed", so nothing is installed system-wide). `pip install ./bindings/python` installs the
# package the way a user would (not editable; the README's plain `pip install
# ./bindings/python` works too), plus pytest from PyPI, so the tests import the
# installed copy. It loads the library from $BROKERCLIENT_LIB (default
# target/debug/libbrokerclient.so, built here with `cargo build --lib` when absent).
#
# Needs the broker (this script does not start it; scripts/test.sh does) and FAILS when it is
# not reachable: BC_BROKER_ADDR (default 127.0.0.1:10911), BC_NAMESRV_ADDR (default
# 127.0.0.1:9876).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${BC_PY_VENV:-$ROOT/target/py-venv}

export BROKERCLIENT_LIB=${BROKERCLIENT_LIB:-$ROOT/target/debug/libbrokerclient.so}
[ -f "$BROKERCLIENT_LIB" ] || cargo build --lib
export BC_BROKER_ADDR=${BC_BROKER_ADDR:-127.0.0.1:10911}
export BC_NAMESRV_ADDR=${BC_NAMESRV_ADDR:-127.0.0.1:9876}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# One resolver run for everything fetched from PyPI (each index round trip costs seconds), then
# the package built with that setuptools instead of a second, isolated download.
"${pip[@]}" install "pytest>=7" "setuptools>=70.1"
"${pip[@]}" install --no-build-isolation --force-reinstall --no-deps ./bindings/python
rm -rf bindings/python/build bindings/python/*.egg-info  # setuptools builds in the tree

# From the tests directory, so `import brokerclient` is the installed package, not the source.
cd bindings/python/tests
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q "$@"
