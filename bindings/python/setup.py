"""Build steps of the ``brokerclient`` wheel (metadata lives in pyproject.toml).

``pip install ./bindings/python`` (or ``pip wheel``) builds the native library and ships it
inside the package, so ``import brokerclient`` needs no environment variable afterwards:

- ``build_py`` runs ``cargo build --release --lib`` in the repository that holds this binding
  (``../..`` from this file: the directory whose Cargo.toml names the ``brokerclient``
  package). Cargo rebuilds nothing when ``target/release`` is up to date, and honours
  ``CARGO_TARGET_DIR``; the artifact's path is read from cargo's JSON messages, not guessed.
  ``BROKERCLIENT_PREBUILT_LIB=/path/libbrokerclient.so`` packages that file instead (no
  cargo run: for a machine without Rust that has the library from elsewhere).
- the library is copied to ``brokerclient/libbrokerclient.so`` in the build tree (its debug
  sections stripped from the copy unless ``BROKERCLIENT_KEEP_DEBUG=1``), and
  ``bdist_wheel`` tags the wheel for the platform (``py3-none-linux_x86_64``): it holds a
  native library, so it is not a pure wheel, but it is one wheel for every CPython >= 3.8
  (the package uses ctypes, no CPython extension module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

try:  # setuptools >= 70.1 ships bdist_wheel itself (pyproject.toml requires it)
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

LIB_NAME = "libbrokerclient.so"
HERE = Path(__file__).resolve().parent


def _repo_root() -> Path:
    """The checkout this binding belongs to (``bindings/python`` -> ``../..``)."""
    root = HERE.parents[1]
    manifest = root / "Cargo.toml"
    if not manifest.is_file() or 'name = "brokerclient"' not in manifest.read_text():
        raise SystemExit(
            f"brokerclient: {manifest} is not libbrokerclient's Cargo.toml; build the wheel from "
            "the repository's bindings/python, or set BROKERCLIENT_PREBUILT_LIB to a built "
            f"{LIB_NAME}"
        )
    return root


def _cargo() -> str:
    found = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(found).is_file():
        raise SystemExit(
            "brokerclient: cargo not found (install Rust, or set BROKERCLIENT_PREBUILT_LIB to a "
            f"built {LIB_NAME})"
        )
    return found


def build_native_library() -> Path:
    """Runs ``cargo build --release --lib`` and returns the cdylib it produced."""
    prebuilt = os.environ.get("BROKERCLIENT_PREBUILT_LIB")
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise SystemExit(f"brokerclient: BROKERCLIENT_PREBUILT_LIB={prebuilt}: no such file")
        return path
    root = _repo_root()
    cmd = [_cargo(), "build", "--release", "--lib", "--message-format=json-render-diagnostics"]
    print(f"brokerclient: {' '.join(cmd[1:])} in {root}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"brokerclient: cargo build failed (exit {proc.returncode})")
    found = None
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        if msg.get("target", {}).get("name") != "brokerclient":
            continue
        for f in msg.get("filenames", []):
            if Path(f).name == LIB_NAME:
                found = Path(f)
    if found is None or not found.is_file():
        raise SystemExit(f"brokerclient: cargo built no {LIB_NAME}")
    return found


class BuildPyWithLibrary(build_py):
    """``build_py`` plus the native library inside the package."""

    def run(self) -> None:
        super().run()
        lib = build_native_library()
        dest = Path(self.build_lib) / "brokerclient" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A real copy (not a link into the checkout): the wheel must install anywhere.
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)
        # Debug sections are most of a release build's size (cargo keeps them); the wheel
        # does not need them. Only the copy is stripped, never target/release.
        strip = shutil.which("strip")
        if strip and os.environ.get("BROKERCLIENT_KEEP_DEBUG") != "1":
            subprocess.run([strip, "--strip-debug", str(dest)], check=True)


class PlatformWheel(bdist_wheel):
    """Not a pure wheel (it holds a native library); any CPython 3 (ctypes, no C-API)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> "tuple[str, str, str]":
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel})
