#!/usr/bin/env bash
# Install Debian packages if any of them is missing; a no-op (no apt-get at all) when all are
# already installed, so repeated local runs stay fast. apt output goes to stderr so that callers
# can keep stdout for their own results.
#
#   scripts/ensure-packages.sh PKG...
set -euo pipefail

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "ensure-packages: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "ensure-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
