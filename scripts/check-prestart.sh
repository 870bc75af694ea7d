#!/usr/bin/env bash
# Checks that the shipped cella's entry point is `cella_prestart` and that the code it runs before
# the C library has started (runtime-bin/src/prestart.rs) calls nothing outside that module: a
# call into libc (memcpy, memset and memcmp included, which the compiler may emit for a loop) or
# through a not-yet-relocated pointer would crash every `create`, `run` and `exec`. The only
# calls let out are the panic paths of bounds checks that cannot fail (they are never taken).
#
#   scripts/check-prestart.sh CELLA
set -euo pipefail

cella=${1:?usage: scripts/check-prestart.sh CELLA}
entry=$(readelf -hW "$cella" | awk '/Entry point address/ {print $4}')
prestart=$(nm "$cella" | awk '$3 == "cella_prestart" {print $1}')
[[ -n $prestart ]] || { echo "check-prestart: $cella has no cella_prestart" >&2; exit 1; }
if (( entry != 0x$prestart )); then
    echo "check-prestart: entry point $entry is not cella_prestart (0x$prestart)" >&2
    exit 1
fi
# Every function of the module (Rust's mangled names hold the path cella_bin::prestart).
mapfile -t symbols < <(nm "$cella" | awk '$3 == "cella_prestart" || $3 ~ /cella_bin8prestart/ {print $3}')
((${#symbols[@]} >= 2)) || { echo "check-prestart: prestart's functions not found" >&2; exit 1; }
bad=0
for symbol in "${symbols[@]}"; do
    while read -r line; do
        target=$(grep -oE '<[^>]+>' <<<"$line" | head -1 | tr -d '<>')
        case $target in
            cella_prestart | *cella_bin8prestart* | _start) ;;
            *panicking18panic_bounds_check* | *slice5index16slice_index_fail* | *slice_end_index_len_fail* | *slice_start_index_len_fail*) ;;
            *) echo "check-prestart: $symbol: $line" >&2; bad=1 ;;
        esac
    done < <(objdump -d --no-show-raw-insn --disassemble="$symbol" "$cella" |
        grep -E '^\s+[0-9a-f]+:\s+(call|jmp)\s' | grep -vE 'jmp\s+[0-9a-f]+ <'"$symbol"'(\+0x[0-9a-f]+)?>' || true)
done
((bad == 0)) || { echo "check-prestart: calls out of the pre-libc code (see above)" >&2; exit 1; }
echo "check-prestart: entry cella_prestart; ${#symbols[@]} functions, no call out of them"
