#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first. CI runs exactly this (.ci/run).
# It starts a throwaway PostgreSQL on a Unix socket for the store tests and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
# formatting first: a lint finding fails the run (.swift-format)
swift format lint --strict -r Sources Tests benchmarks/Sources Package.swift
eval "$(bash scripts/postgres-test-server.sh start)"
trap 'bash scripts/postgres-test-server.sh stop "${PROMOWATCH_TEST_PGDIR:-/nonexistent}"' EXIT
# a missing test dependency (PostgreSQL, kubectl, openssl, python3) fails instead of skipping
CI="${CI:-true}" swift test --disable-swift-testing
