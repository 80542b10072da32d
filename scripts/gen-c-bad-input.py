#!/usr/bin/env python3
"""Generates tests/c/bad_input_table.inc from include/brokerclient.h: one case per pointer
parameter of every function of the default build, calling the function with that parameter
NULL and every other argument valid (from the fixture of tests/c/test_bad_input.c).

Usage: scripts/gen-c-bad-input.py            rewrites tests/c/bad_input_table.inc
       scripts/gen-c-bad-input.py --check    fails when the committed file is stale
(scripts/c-tests.sh runs --check, so a new function cannot go untested.)

Each case is {function, parameter, expectation, call}. Expectations:
  INVALID   the call returns BC_ERR_INVALID_ARG with an error naming the parameter;
  OPTIONAL  NULL is documented as allowed for it (OPTIONAL below): any status, no crash;
  NOSTATUS  the function returns no status (free, getters): it must not crash.
A handle the fixture cannot make without a broker (a batch, a send result, a transaction
check) is passed as NULL too; the case then checks the function refuses or ignores it.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "brokerclient.h"
OUT = ROOT / "tests" / "c" / "bad_input_table.inc"

# Parameters the header documents as optional (NULL allowed), per function ("*" = any).
OPTIONAL = {
    ("*", "err_out"): "every err_out may be NULL",
    ("*", "user_data"): "opaque to the library",
    ("*", "free_user_data"): "documented: may be NULL",
    ("*", "cancel"): "documented: NULL means no token",
    ("bc_client_new", "config"): "NULL: defaults",
    ("bc_client_new", "queue"): "NULL: callback mode",
    ("bc_manager_new", "config"): "NULL: defaults",
    ("bc_manager_new", "queue"): "NULL: callback mode",
    ("bc_manager_new_from_name_servers", "config"): "NULL: defaults",
    ("bc_manager_new_from_name_servers", "queue"): "NULL: callback mode",
    ("bc_set_log_callback", "cb"): "NULL removes the callback",
    ("bc_queue_set_wakeup", "cb"): "NULL clears the wake-up",
    ("bc_client_set_transaction_check_cb", "cb"): "NULL removes the callback",
    ("bc_client_set_notify_cb", "cb"): "NULL removes the callback",
    ("bc_client_set_stats_cb", "cb"): "NULL removes the callback",
    ("bc_client_heartbeat", "producer_group"): "either may be NULL but not both",
    ("bc_client_heartbeat", "consumer_group"): "either may be NULL but not both",
    ("bc_manager_heartbeat", "producer_group"): "either may be NULL but not both",
    ("bc_manager_heartbeat", "consumer_group"): "either may be NULL but not both",
    ("bc_client_end_transaction", "transaction_id"): "NULL: the message has none",
    ("bc_client_unregister", "producer_group"): "NULL: none",
    ("bc_client_unregister", "consumer_group"): "NULL: none",
    ("bc_client_unregister_async", "producer_group"): "NULL: none",
    ("bc_client_unregister_async", "consumer_group"): "NULL: none",
    ("bc_pull_request_set_expression", "expression"): "NULL: the heartbeat's subscription",
}

# Valid values for the parameters that are not the NULL one, by type.
BY_TYPE = {
    "const struct bc_client *": "fx.client",
    "struct bc_client *": "fx.client",
    "const struct bc_manager *": "fx.manager",
    "struct bc_manager *": "fx.manager",
    "const struct bc_config *": "fx.config",
    "struct bc_config *": "fx.config",
    "const struct bc_message *": "fx.message",
    "struct bc_message *": "fx.message",
    "const struct bc_message *const *": "fx.messages",
    "const struct bc_queue *": "fx.queue",
    "struct bc_queue *": "fx.queue",
    "const struct bc_cancel_token *": "fx.token",
    "struct bc_cancel_token *": "fx.token",
    "const struct bc_pull_request *": "fx.request",
    "struct bc_pull_request *": "fx.request",
    "const struct bc_heartbeat *": "fx.heartbeat",
    "struct bc_heartbeat *": "fx.heartbeat",
    "const struct bc_error *": "fx.error",
    "struct bc_error *": "fx.error",
    "const uint8_t *": "fx.bytes",
    "struct bc_message_view *": "&fx.view",
    "int64_t *": "&fx.i64",
    "size_t *": "&fx.size",
    "char *": "fx.buf",
    "void *": "NULL",
    "void (*cb)(void*)": "noop_wakeup",
    # Not constructible without a broker: NULL as well (see the docstring).
    "const struct bc_batch *": "NULL",
    "struct bc_batch *": "NULL",
    "const struct bc_send_result *": "NULL",
    "struct bc_send_result *": "NULL",
    "const struct bc_transaction_check *": "NULL",
}
OUT_TYPES = {  # out-parameters: a fixture slot, freed after the call if it was written
    "struct bc_client **": "&fx.out_client",
    "struct bc_manager **": "&fx.out_manager",
    "struct bc_config **": "&fx.out_config",
    "struct bc_message **": "&fx.out_message",
    "struct bc_queue **": "&fx.out_queue",
    "struct bc_cancel_token **": "&fx.out_token",
    "struct bc_pull_request **": "&fx.out_request",
    "struct bc_heartbeat **": "&fx.out_heartbeat",
    "struct bc_batch **": "&fx.out_batch",
    "struct bc_send_result **": "&fx.out_result",
    "struct bc_error **": "g_err_out",
    "char **": "&fx.out_string",
    "const char **": "&fx.out_cstring",
}


def string_value(name):
    if "addr" in name or name in ("broker", "name_servers"):
        return '"127.0.0.1:1"'
    if name == "key":
        return '"request.timeout.ms"'
    if name == "value":
        return '"200"'
    if name == "mq_json":
        return '"[{\\"topic\\":\\"T\\",\\"brokerName\\":\\"b\\",\\"queueId\\":0}]"'
    if "group" in name:
        return '"G"'
    if "topic" in name:
        return '"T"'
    return '"x"'


def scalar_value(ptype, name, prev_type):
    if ptype == "size_t":
        return "sizeof fx.buf" if prev_type == "char *" else "1"
    if ptype == "int32_t" and name == "level":
        return "3"
    if ptype == "bool":
        return "false"
    if ptype.startswith("bc_") and ptype.endswith("_cb"):
        return "noop_" + ptype
    return "1"  # a count, id or timeout that is valid everywhere


# How the header says a parameter may be NULL, in the function's doc comment.
DOC_OPTIONAL = r"`{}`[^.]*?(may be NULL|NULL means|NULL:|NULL for|or NULL|NULL =|NULL is allowed)"


def parse(header):
    text = re.sub(r"#if defined\(BC_FEATURE_FAULT_PROXY\).*?#endif\n", "", header, flags=re.S)
    funcs = []
    pattern = r"(/\*\*(?:(?!\*/).)*\*/\s*)?^([A-Za-z_][\w \*]*?)\b(bc_\w+)\(([^;]*?)\);"
    for m in re.finditer(pattern, text, flags=re.M | re.S):
        doc = re.sub(r"\s*\*\s*", " ", m.group(1) or "")
        m = _Shift(m)
        ret = m.group(1).strip()
        params = []
        raw = re.sub(r"\s+", " ", m.group(3)).strip()
        if raw and raw != "void":
            for p in raw.split(","):
                p = p.strip()
                if p.startswith("void (*"):
                    params.append(("void (*cb)(void*)", "cb"))
                    continue
                name = re.search(r"(\w+)$", p).group(1)
                params.append((p[: -len(name)].strip(), name))
        funcs.append((ret, m.group(2), params, doc))
    return funcs


class _Shift:
    """The match without its doc-comment group: groups 1..3 are return type, name, params."""

    def __init__(self, m):
        self.m = m

    def group(self, i):
        return self.m.group(i + 1)


def is_pointer(ptype):
    return "*" in ptype or (ptype.startswith("bc_") and ptype.endswith("_cb"))


def generate():
    funcs = parse(HEADER.read_text())
    lines = [
        "/* GENERATED by scripts/gen-c-bad-input.py from include/brokerclient.h: do not edit. */",
        "",
    ]
    docs = {f: d for _, f, _, d in funcs}
    count = 0
    for ret, fname, params, doc in funcs:
        # `bc_x_async` and `bc_x_async_with_cancel` are documented as "Async `bc_x`".
        base = re.sub(r"_async(_with_cancel)?$", "", fname)
        doc = doc + " " + docs.get(base, "")
        for i, (ptype, pname) in enumerate(params):
            if not is_pointer(ptype) or pname == "err_out":
                continue
            args = []
            prev = None
            forced_null = False
            for j, (t, n) in enumerate(params):
                if j == i:
                    args.append("NULL")
                elif t in OUT_TYPES:
                    args.append(OUT_TYPES[t])
                elif t == "const char *":
                    args.append(string_value(n))
                elif t in BY_TYPE:
                    args.append(BY_TYPE[t])
                    forced_null |= BY_TYPE[t] == "NULL" and t != "void *"
                elif is_pointer(t) and t.endswith("_cb"):
                    args.append("noop_" + t)
                elif is_pointer(t):
                    raise SystemExit(f"gen-c-bad-input: no value for {t} ({fname})")
                else:
                    args.append(scalar_value(t, n, prev))
                prev = t
            call = f"{fname}({', '.join(args)})"
            if ret != "bc_status":
                kind = "NOSTATUS"
                body = f"(void){call};" if ret != "void" else f"{call};"
            else:
                optional = (
                    (fname, pname) in OPTIONAL
                    or (base, pname) in OPTIONAL
                    or ("*", pname) in OPTIONAL
                    or re.search(DOC_OPTIONAL.format(pname), doc) is not None
                )
                kind = "OPTIONAL" if optional else "INVALID"
                body = f"return {call};"
            # The message must name the parameter, unless another one is NULL as well.
            has_err = any(n == "err_out" for _, n in params) and not forced_null
            name = f"case_{count}"
            lines.append(
                f"static bc_status {name}(void) {{ {body}{'' if ret == 'bc_status' else ' return BC_OK;'} }}"
            )
            lines.append(
                f'#define ENTRY_{count} {{"{fname}", "{pname}", {kind}, {int(has_err)}, {name}}},'
            )
            count += 1
    lines.append("")
    lines.append("static const struct bad_input_case CASES[] = {")
    for k in range(count):
        lines.append(f"    ENTRY_{k}")
    lines.append("};")
    lines.append("")
    return "\n".join(lines)


def main():
    text = generate()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run scripts/gen-c-bad-input.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
