#!/usr/bin/env bash
# Installs what proteus needs on a fresh Debian machine (as root), then configures and builds.
#   scripts/setup.sh            # build into build/
#   BUILD_DIR=out scripts/setup.sh
# The profiler is built where CUDA is found (PROTEUS_PROFILER=AUTO); override with
#   PROTEUS_PROFILER=OFF scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
PROFILER=${PROTEUS_PROFILER:-AUTO}

packages=(cmake ninja-build g++ nlohmann-json3-dev libgtest-dev libbenchmark-dev libcli11-dev libpugixml-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 2
  fi
fi

# nvcc is not always on PATH; CMake's CUDA detection looks for it there.
if [ -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

jobs=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROTEUS_PROFILER="$PROFILER" >/dev/null
cmake --build "$BUILD_DIR" -j "$jobs"
