"""The ctypes prototypes and status codes match include/brokerclient.h: the committed (and
installed) ``brokerclient/_prototypes.py`` is what ``gen_prototypes.py`` writes from the
header now; after the C ABI changes, run ``python bindings/python/gen_prototypes.py``."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import brokerclient as bc
from brokerclient import _prototypes, errors

HERE = Path(__file__).resolve().parent
BINDING = HERE.parent
HEADER = BINDING.parents[1] / "include" / "brokerclient.h"


def test_prototypes_are_generated_from_the_current_header(tmp_path: Path) -> None:
    out = tmp_path / "_prototypes.py"
    subprocess.run([sys.executable, str(BINDING / "gen_prototypes.py"), str(HEADER), str(out)],
                   check=True, capture_output=True)
    want = out.read_text()
    for committed in (BINDING / "brokerclient" / "_prototypes.py", Path(_prototypes.__file__)):
        assert committed.read_text() == want, (
            f"{committed} is stale: run python bindings/python/gen_prototypes.py")


def test_every_header_function_is_declared_and_exported() -> None:
    header = HEADER.read_text()
    lib = ctypes.CDLL(bc.library_path)
    for name, (_ret, args) in _prototypes.PROTOTYPES.items():
        assert f"{name}(" in header
        fn = getattr(bc.lib, name)  # exported by the loaded library
        assert len(fn.argtypes) == len(args), name
        assert hasattr(lib, name)
    assert len(_prototypes.PROTOTYPES) > 150


def test_status_codes_come_from_the_header() -> None:
    assert errors.OK == _prototypes.BC_OK == 0
    assert errors.WOULD_BLOCK == _prototypes.BC_ERR_WOULD_BLOCK
    assert errors.OFFSET == _prototypes.BC_ERR_OFFSET
    for value, cls in errors._BY_STATUS.items():
        name = bc.lib.bc_status_name(value).decode()
        assert getattr(_prototypes, name) == value, (name, cls)
