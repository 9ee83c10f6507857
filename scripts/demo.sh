#!/usr/bin/env bash
# The main job on the embedded default: GPT-3 175B on 128 DGX-H100 nodes (1,024 GPUs),
# TP 8 x PP 8 x DP 16, micro-batch 1, global batch 1536, 1F1B, bf16, with the shipped calibrated
# H100 profile (data/db/h100-calibrated.json; how it was fitted: docs/validation.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
scripts/setup.sh >/dev/null
exec "$BUILD_DIR/simulator/cli/proteus-sim" simulate --model gpt3-175b --cluster dgx-h100-128 \
  --tp 8 --pp 8 --dp 16 --mbs 1 --gbs 1536 --zero 1 --db h100-calibrated "$@"
