#!/usr/bin/env bash
# Checks the shared library's exports against abi/symbols.txt (C_ABI.md 3.5).
#
# Usage: scripts/check-symbols.sh [--update] [path/to/libbrokerclient.so]
#
#   Without a path it runs `cargo build` and checks target/debug/libbrokerclient.so.
#
#   abi/symbols.txt lists every exported function with the version that introduced it, one per
#   line, `bc_name MAJOR.MINOR.PATCH`, sorted (LC_ALL=C), no comments. The check compares it
#   with `nm -D --defined-only` of the library and fails on:
#     - an exported function missing from the file (a new function: add it, see --update);
#     - a file entry the library does not export (symbols are add-only: removing or renaming
#       one breaks every program linked against an older release);
#     - any exported symbol without the `bc_` prefix, or a `bc_` export that is not a function;
#     - a malformed, unsorted or duplicated line, or a version newer than Cargo.toml's.
#   On failure it prints the updated list, ready to paste.
#
#   The file describes the default build. The functions of the test-only feature `fault-proxy`
#   (`bc_fault_proxy_*`, declared under BC_FEATURE_FAULT_PROXY) are not part of the stable ABI
#   and are left out of the check, so a library built with that feature passes too.
#
#   --update rewrites abi/symbols.txt from the library: entries keep their version, new
#   functions get the version in Cargo.toml, entries no longer exported are dropped (with a
#   warning, since that is an ABI break). Export-prefix problems still fail.
#
# Exit status: 0 ok (or file updated), 1 check failed, 2 usage or tool error.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

update=0
so=""
for a in "$@"; do
    case "$a" in
    --update) update=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "check-symbols: unknown option $a" >&2
        exit 2
        ;;
    *)
        [ -z "$so" ] || { echo "check-symbols: one library path only" >&2; exit 2; }
        so=$a
        ;;
    esac
done

if [ -z "$so" ]; then
    cargo build --quiet --lib
    so=target/debug/libbrokerclient.so
fi
[ -f "$so" ] || { echo "check-symbols: no such file: $so" >&2; exit 2; }
command -v nm >/dev/null || { echo "check-symbols: nm not found (binutils)" >&2; exit 2; }

file=abi/symbols.txt
version=$(sed -n '/^\[package\]/,/^\[/{/^version *=/{s/^version *= *"\([^"]*\)".*/\1/p;q;}}' Cargo.toml)
[ -n "$version" ] || { echo "check-symbols: no version in Cargo.toml" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "ADDR TYPE NAME[@VER]" for defined symbols; strip symbol versions if a version script adds any.
nm -D --defined-only "$so" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $2, $3 }' |
    awk '$2 !~ /^bc_fault_proxy_/' | sort -u -k2 >"$tmp/all"
awk '$2 ~ /^bc_/ && ($1 == "T" || $1 == "W") { print $2 }' "$tmp/all" | sort -u >"$tmp/exported"
fail=0
problem() {
    echo "check-symbols: $*" >&2
    fail=1
}

# 1. Nothing but bc_ functions may be exported.
while read -r type name; do
    if [[ $name != bc_* ]]; then
        problem "exported symbol without the bc_ prefix: $name (type $type)"
    elif [[ $type != T && $type != W ]]; then
        problem "exported bc_ symbol is not a function: $name (type $type); export functions only"
    fi
done <"$tmp/all"
prefix_fail=$fail

# 2. The file's own format.
if [ -f "$file" ]; then
    : >"$tmp/listed" # the well-formed entries
    lineno=0
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        if ! [[ $line =~ ^bc_[A-Za-z0-9_]+\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
            problem "$file:$lineno: not \`bc_name MAJOR.MINOR.PATCH\`: '$line'"
            continue
        fi
        v=${line#* }
        if [ "$(printf '%s\n%s\n' "$v" "$version" | sort -V | tail -n1)" != "$version" ]; then
            problem "$file:$lineno: version $v is newer than Cargo.toml's $version"
            continue
        fi
        echo "$line" >>"$tmp/listed"
    done <"$file"
    if ! sort -c "$file" 2>/dev/null; then
        problem "$file is not sorted (LC_ALL=C sort)"
    fi
    dups=$(awk '{ print $1 }' "$tmp/listed" | sort | uniq -d)
    [ -z "$dups" ] || problem "$file lists more than once: $(echo $dups)"
else
    problem "$file does not exist"
    : >"$tmp/listed"
fi
awk '{ print $1 }' "$tmp/listed" | sort -u >"$tmp/listed_names"

# 3. Exports versus the file.
comm -23 "$tmp/exported" "$tmp/listed_names" >"$tmp/new"
comm -13 "$tmp/exported" "$tmp/listed_names" >"$tmp/gone"
while read -r s; do problem "exported but not in $file: $s"; done <"$tmp/new"
while read -r s; do problem "in $file but not exported (symbols are add-only): $s"; done <"$tmp/gone"

# The updated list: known entries keep their version, new ones get Cargo.toml's.
awk -v ver="$version" -v listed="$tmp/listed" '
    BEGIN { while ((getline l < listed) > 0) { split(l, f, " "); known[f[1]] = f[2] } }
    { print $1, ($1 in known ? known[$1] : ver) }
' "$tmp/exported" | sort >"$tmp/updated"

count=$(wc -l <"$tmp/exported" | tr -d ' ')
if [ "$update" = 1 ]; then
    if [ -s "$tmp/gone" ]; then
        echo "check-symbols: WARNING: dropping entries no longer exported (an ABI break):" >&2
        sed 's/^/    /' "$tmp/gone" >&2
    fi
    if cmp -s "$tmp/updated" "$file" 2>/dev/null; then
        echo "check-symbols: $file already up to date ($count functions)"
    else
        cp "$tmp/updated" "$file"
        echo "check-symbols: wrote $file ($count functions, $(wc -l <"$tmp/new" | tr -d ' ') new)"
    fi
    exit "$prefix_fail"
fi

if [ "$fail" = 0 ]; then
    echo "check-symbols: ok: $so exports $count bc_ functions, all listed in $file"
    exit 0
fi
{
    echo
    echo "check-symbols: FAILED. Updated $file (or run: scripts/check-symbols.sh --update $so):"
    echo "----8<----"
    cat "$tmp/updated"
    echo "----8<----"
} >&2
exit 1
