#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first. CI runs exactly this (.ci/run).
# It starts a throwaway PostgreSQL on a Unix socket for the store tests and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
# formatting first: a lint finding fails the run (.swift-format)
swift format lint --strict -r Sources Tests benchmarks/Sources fuzz Package.swift
eval "$(bash scripts/postgres-test-server.sh start)"
trap 'bash scripts/postgres-test-server.sh stop "${PROMOWATCH_TEST_PGDIR:-/nonexistent}"' EXIT
# a missing test dependency (PostgreSQL, kubectl, openssl, python3) fails instead of skipping
CI="${CI:-true}" swift test --disable-swift-testing
# a short, fixed fuzzing run of the byte path (libFuzzer + AddressSanitizer, scripts/fuzz.sh):
# any crash, sanitizer report or oracle failure fails the suite
RUNS=20000 bash scripts/fuzz.sh
