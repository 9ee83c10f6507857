#!/usr/bin/env bash
# Rebuilds the shipped calibrated profiles (data/db/*-calibrated.json) from the public inputs the
# repo restates (data/validation: SC'21 Tables 1 and 2; data/measurements: REFERENCE.md section 2
# kernel figures). tests/cli/shipped_profiles_test.cc reruns the command recorded in each file and
# checks it reproduces the file. About 2-3 minutes on 2 cores (A100; H100 is instant).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}/simulator/cli/proteus-sim
$B calibrate data/validation/megatron-sc21-table1.json data/validation/megatron-sc21-table2-ptdp.json \
  data/measurements/a100-kernels.json --gpu A100-SXM4-80GB \
  --params gemm_ceiling,attention_ceiling,gemm_depth_overhead -o data/db/a100-calibrated.json
$B calibrate data/measurements/h100-kernels.json --gpu H100-SXM5-80GB \
  --params gemm_ceiling,attention_ceiling -o data/db/h100-calibrated.json
