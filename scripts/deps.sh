#!/usr/bin/env bash
# Installs the Debian packages promowatch needs, only those missing (idempotent, quiet).
#   bash scripts/deps.sh build      zlib headers and pkg-config: enough to build and run; ISA-L
#                                   (libisal-dev: gzip input inflated several times faster, zlib
#                                   remains the fallback where it is missing)
#   bash scripts/deps.sh test       + jq, bc, openssl, python3 (fake API server), PostgreSQL and libpq,
#                                   Prometheus (scrapes `watch --metrics-listen` in a test) and
#                                   Alertmanager (receives incidents in a test), Chromium (renders
#                                   the HTML report in a test).
#   bash scripts/deps.sh bench      + pigz, GNU time and taskset for benchmarks/run.sh
#   kubectl, the oracle for patch semantics, ships with this project's machine image.
set -euo pipefail
want=(zlib1g-dev libisal-dev pkg-config gzip)
if [ "${1:-build}" = "test" ] || [ "${1:-build}" = "bench" ]; then
  want+=(jq bc openssl python3 postgresql libpq-dev prometheus prometheus-alertmanager chromium)
fi
if [ "${1:-build}" = "bench" ]; then
  want+=(pigz time util-linux)
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
