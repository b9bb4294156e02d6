#!/usr/bin/env bash
# Installs the Debian packages promowatch needs, only those missing (idempotent, quiet).
#   bash scripts/deps.sh build      zlib headers and pkg-config: enough to build and run
#   bash scripts/deps.sh test       + jq, bc, openssl, python3 (fake API server), PostgreSQL and libpq,
#                                   Prometheus (scrapes `watch --metrics-listen` in a test) and
#                                   Alertmanager (receives incidents in a test), Chromium (renders
#                                   the HTML report in a test).
#   kubectl, the oracle for patch semantics, ships with this project's machine image.
set -euo pipefail
want=(zlib1g-dev pkg-config gzip)
if [ "${1:-build}" = "test" ]; then
  want+=(jq bc openssl python3 postgresql libpq-dev prometheus prometheus-alertmanager chromium)
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
