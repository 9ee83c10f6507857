#!/usr/bin/env bash
# Builds everything (installing what is missing) and runs the whole test suite (CPU only; GPU tests
# carry the label "gpu" and skip themselves without a device).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${JOBS:-$(nproc)}"
