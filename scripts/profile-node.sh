#!/usr/bin/env bash
# Profiles this GPU node into a cost database: builds proteus-profile and runs `proteus-profile node`.
#   scripts/profile-node.sh [name] [extra proteus-profile arguments...]
# writes data/db/<name>.json (default name: the GPU, e.g. nvidia-h100-80gb-hbm3). Rerunning the same
# command resumes an interrupted run. Under MPI for several nodes, run the collectives part with
# mpirun yourself (docs/profiler.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/cuda/bin:$PATH
BUILD_DIR=${BUILD_DIR:-build-profile}
command -v nvcc >/dev/null || { echo "error: nvcc not found (install the CUDA toolkit or add it to PATH)" >&2; exit 2; }
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPROTEUS_PROFILER=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target proteus-profile
name=${1:-}
if [ -z "$name" ]; then
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
  [ -n "$gpu" ] || { echo "error: no GPU visible (nvidia-smi found none)" >&2; exit 2; }
  name=$(echo "$gpu" | tr '[:upper:] ' '[:lower:]-' | tr -cd 'a-z0-9.-')
else
  shift
fi
mkdir -p data/db
exec "$BUILD_DIR"/profiler/proteus-profile node -o "data/db/$name.json" "$@"
