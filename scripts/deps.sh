#!/usr/bin/env bash
# Installs the Debian packages promowatch needs, only those missing (idempotent, quiet).
#   bash scripts/deps.sh build      zlib headers and pkg-config: enough to build and run
#   bash scripts/deps.sh test       + gzip, jq, PostgreSQL server and libpq, kubectl when available
set -euo pipefail
want=(zlib1g-dev pkg-config gzip)
if [ "${1:-build}" = "test" ]; then
  want+=(jq bc postgresql libpq-dev)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
