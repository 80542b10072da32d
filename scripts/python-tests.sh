#!/usr/bin/env bash
# Builds the Python binding (bindings/python) the way a user installs it, checks that the
# installed package works from outside the checkout with no environment variable, then runs
# its pytest suite against the real broker.
#
# Usage: scripts/python-tests.sh [pytest args...]
#
# 1. The wheel: `pip wheel ./bindings/python` in a fresh venv (target/py-venv-fresh, made anew
#    each run) with pip's build isolation, exactly as a user's `pip install ./bindings/python`
#    builds it: setup.py runs `cargo build --release --lib` (a no-op when target/release is
#    up to date) and puts libbrokerclient.so inside the package; the wheel must be a platform
#    wheel (py3-none-linux_*), not a pure one.
# 2. That wheel installed (no index) into the fresh venv and `import brokerclient` run from a
#    directory outside the checkout with BROKERCLIENT_LIB unset: the library must be the copy
#    inside site-packages.
# 3. The test venv (target/py-venv, kept between runs): pytest and mypy from PyPI in one
#    resolver run, the same wheel installed, `mypy --strict` on the package and on
#    tests/typing_sample.py (a program using every class), then pytest from the tests
#    directory (so the tests import the installed copy). The tests load the packaged library unless
#    BROKERCLIENT_LIB is set (an override, e.g. a debug build).
#
# Needs the broker (this script does not start it; scripts/test.sh does) and FAILS when it is
# not reachable: BC_BROKER_ADDR (default 127.0.0.1:10911), BC_NAMESRV_ADDR (default
# 127.0.0.1:9876).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${BC_PY_VENV:-$ROOT/target/py-venv}
FRESH=$ROOT/target/py-venv-fresh
WHEELS=$ROOT/target/py-wheel
export BC_BROKER_ADDR=${BC_BROKER_ADDR:-127.0.0.1:10911}
export BC_NAMESRV_ADDR=${BC_NAMESRV_ADDR:-127.0.0.1:9876}

pip_of() { "$1/bin/python" -m pip --disable-pip-version-check -q "${@:2}"; }

# 1. the wheel, built as a user's pip builds it
python3 -m venv --clear "$FRESH"
rm -rf "$WHEELS"
pip_of "$FRESH" wheel --no-deps -w "$WHEELS" ./bindings/python
rm -rf bindings/python/build bindings/python/*.egg-info  # setuptools builds in the tree
shopt -s nullglob
wheels=("$WHEELS"/brokerclient-*.whl)
shopt -u nullglob
[ "${#wheels[@]}" -eq 1 ] || { echo "python-tests: expected one wheel in $WHEELS" >&2; exit 1; }
WHEEL=${wheels[0]}
case "$(basename "$WHEEL")" in
  *-py3-none-linux_*.whl) ;;
  *) echo "python-tests: $WHEEL is not a platform wheel (py3-none-linux_*)" >&2; exit 1 ;;
esac
listing=$("$FRESH/bin/python" -m zipfile -l "$WHEEL")
grep -q 'brokerclient/libbrokerclient.so' <<<"$listing" \
  || { echo "python-tests: $WHEEL does not contain brokerclient/libbrokerclient.so" >&2; exit 1; }

# 2. installed elsewhere, imported from outside the checkout, no environment variable
pip_of "$FRESH" install --no-index --no-deps "$WHEEL"
OUTSIDE=$(mktemp -d)
trap 'rm -rf "$OUTSIDE"' EXIT
(cd "$OUTSIDE" && env -u BROKERCLIENT_LIB -u PYTHONPATH "$FRESH/bin/python" -c '
import os, sys, brokerclient as bc
pkg = os.path.dirname(bc.__file__)
assert "site-packages" in pkg, pkg
assert bc.library_path == os.path.join(pkg, "libbrokerclient.so"), bc.library_path
assert bc.__version__ == "0.1.0" and bc.native_version() == bc.__version__, bc.native_version()
print("python-tests: import from", os.getcwd(), "loads", bc.library_path)
')

# 3. the test venv: one resolver run for what comes from PyPI, then the same wheel
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip_of "$VENV" install "pytest>=7" "mypy>=1.8"
pip_of "$VENV" install --no-index --no-deps --force-reinstall "$WHEEL"
"$VENV/bin/python" -m mypy --strict --no-incremental --cache-dir=/dev/null \
  bindings/python/brokerclient bindings/python/tests/typing_sample.py

# From the tests directory, so `import brokerclient` is the installed package, not the source.
cd bindings/python/tests
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q "$@"
