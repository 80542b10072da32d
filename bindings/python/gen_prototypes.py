#!/usr/bin/env python3
"""Generates ``brokerclient/_prototypes.py`` from ``include/brokerclient.h``.

Usage: ``python bindings/python/gen_prototypes.py [HEADER [OUT]]`` (defaults: the repository's
header and the package's ``_prototypes.py``). Run it after the C ABI changes;
``tests/test_prototypes.py`` fails when the committed file differs from what this writes
(as ``bindings/go/shim_test.go`` does for the Go binding's shim).

Every exported function (but the test-only fault proxy's, under ``BC_FEATURE_FAULT_PROXY``)
becomes ``name: (restype, [argtypes])`` in a small vocabulary that ``_lib.py`` maps to ctypes;
every enum constant becomes an ``int``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

HERE = Path(__file__).resolve().parent

# C parameter/return type (whitespace-normalised, name removed) -> vocabulary word.
_SCALARS = {
    "void": "void",
    "bc_status": "i32",
    "int32_t": "i32",
    "int64_t": "i64",
    "uint32_t": "u32",
    "uint64_t": "u64",
    "size_t": "size",
    "bool": "bool",
    "const char *": "str",
    "char **": "out_ptr",  # an owned string (freed with bc_string_free)
    "const char **": "out_str",  # a borrowed string
    "int64_t *": "out_i64",
    "size_t *": "out_size",
    "char *": "ptr",  # bc_string_free(char *s): an owned string handed back
    "void *": "ptr",
    "const uint8_t *": "ptr",
    "const struct bc_message *const *": "ptr",
    "struct bc_message_view *": "view",
}


def _norm_param(p: str) -> str:
    p = " ".join(p.split())
    p = re.sub(r"\s*\*\s*", " *", p)
    p = p.replace("* *", "**").replace(" * *", " **")
    p = re.sub(r"\*\s*\*", "**", p)
    p = p.replace("*const *", "*const *")
    return p


def _param_word(p: str) -> str:
    p = _norm_param(p)
    if "(*" in p.replace(" ", ""):
        return "cb_wakeup"
    # drop the parameter name
    m = re.fullmatch(r"(.*?[\s*])(\w+)", p)
    assert m, p
    ctype = m.group(1).strip()
    ctype = re.sub(r"\s*\*", " *", ctype).replace("* *", "**").replace(" **", " **")
    ctype = re.sub(r"\*\s+\*", "**", ctype)
    ctype = ctype.replace("*const *", "*const *")
    if ctype in _SCALARS:
        return _SCALARS[ctype]
    if re.fullmatch(r"bc_\w+_cb", ctype):
        return "cb:" + ctype  # a callback typedef of the header (CALLBACKS)
    if re.fullmatch(r"(const )?struct bc_\w+ \*", ctype):
        return "handle"
    if re.fullmatch(r"(const )?struct bc_\w+ \*const \*", ctype):
        return "ptr"
    if re.fullmatch(r"struct bc_\w+ \*\*", ctype):
        return "out_ptr"
    raise SystemExit(f"gen_prototypes: unknown C parameter type {ctype!r} in {p!r}")


def _ret_word(r: str) -> str:
    r = re.sub(r"\s*\*\s*", " *", " ".join(r.split())).strip()
    if r in _SCALARS:
        return _SCALARS[r]
    if re.fullmatch(r"(const )?struct bc_\w+ \*", r):
        return "handle"
    raise SystemExit(f"gen_prototypes: unknown C return type {r!r}")


def _strip_fault_proxy(text: str) -> str:
    """Drops ``#if defined(BC_FEATURE_FAULT_PROXY)`` ... ``#endif`` blocks (nesting-aware)."""
    out: List[str] = []
    depth = 0  # > 0 while inside a fault-proxy block (counting nested #if's in it)
    for line in text.splitlines():
        s = line.strip()
        if depth:
            if s.startswith("#if"):
                depth += 1
            elif s.startswith("#endif"):
                depth -= 1
            continue
        if s.startswith("#if") and "BC_FEATURE_FAULT_PROXY" in s:
            depth = 1
            continue
        out.append(line)
    return "\n".join(out)


Protos = Dict[str, Tuple[str, List[str]]]


def _split_params(params: str) -> List[str]:
    args: List[str] = []
    depth, cur = 0, ""
    for ch in params:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip() and cur.strip() != "void":
        args.append(cur)
    return args


def parse(header: str) -> Tuple[Protos, Dict[str, Dict[str, int]], Protos]:
    text = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = _strip_fault_proxy(text)
    enums: Dict[str, Dict[str, int]] = {}
    for m in re.finditer(r"enum (bc_\w+)[^{;]*\{(.*?)\}", text, flags=re.S):
        values: Dict[str, int] = {}
        for c in re.finditer(r"(BC_\w+)\s*=\s*(-?\d+)", m.group(2)):
            values[c.group(1)] = int(c.group(2))
        enums[m.group(1)] = values
    callbacks: Protos = {}
    for m in re.finditer(r"typedef\s+([\w ]+?)\s*\(\*(bc_\w+_cb)\)\(([^;]*?)\);", text, flags=re.S):
        callbacks[m.group(2)] = (_ret_word(m.group(1)), [_param_word(a) for a in _split_params(m.group(3))])
    protos: Protos = {}
    body = text.split('extern "C" {', 1)[1] if 'extern "C" {' in text else text
    for m in re.finditer(
        r"(?:^|\n)\s*((?:const )?[\w ]+?\s*\**)\s*(bc_\w+)\(((?:[^()]|\([^()]*\))*)\);",
        body,
    ):
        ret, name, params = m.group(1), m.group(2), m.group(3)
        if ret.strip().startswith("typedef"):
            continue
        protos[name] = (_ret_word(ret), [_param_word(a) for a in _split_params(params)])
    return protos, enums, callbacks


def render(protos: Protos, enums: Dict[str, Dict[str, int]], callbacks: Protos) -> str:
    lines = [
        '"""GENERATED by bindings/python/gen_prototypes.py from include/brokerclient.h: do not edit.',
        "",
        "``PROTOTYPES``: every exported function as ``name: (restype, argtypes)`` in the vocabulary",
        "``_lib.py`` maps to ctypes (``cb:NAME``: the callback type NAME of ``CALLBACKS``); then",
        "every enum constant of the header.",
        '"""',
        "",
        "from typing import Dict, List, Tuple",
        "",
        "PROTOTYPES: Dict[str, Tuple[str, List[str]]] = {",
    ]
    for name in sorted(protos):
        ret, args = protos[name]
        lines.append(f"    {name!r}: ({ret!r}, {args!r}),")
    lines.append("}")
    lines.append("")
    lines.append("CALLBACKS: Dict[str, Tuple[str, List[str]]] = {")
    for name in sorted(callbacks):
        ret, args = callbacks[name]
        lines.append(f"    {name!r}: ({ret!r}, {args!r}),")
    lines.append("}")
    lines.append("")
    for enum in sorted(enums):
        lines.append(f"# enum {enum}")
        for k, v in enums[enum].items():
            lines.append(f"{k} = {v}")
        lines.append("")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    header = Path(argv[1]) if len(argv) > 1 else HERE.parents[1] / "include" / "brokerclient.h"
    out = Path(argv[2]) if len(argv) > 2 else HERE / "brokerclient" / "_prototypes.py"
    protos, enums, callbacks = parse(header.read_text())
    out.write_text(render(protos, enums, callbacks))
    print(f"gen_prototypes: {len(protos)} functions, {sum(map(len, enums.values()))} constants -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
