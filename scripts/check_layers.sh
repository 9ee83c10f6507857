#!/usr/bin/env bash
# Fails when a file includes a folder it may not (ARCHITECTURE.md: common <- topo <- simulator,
# common <- profiler; inside simulator: model <- strategy <- compile <- engine <- report, cost used
# by compile and engine, pipeline on report, calibrate and search on pipeline, cli on top). Run by ctest as the "layering" test.
set -u
cd "$(dirname "$0")/.."
allowed_for() {
  case "$1" in
    common) echo "common" ;;
    topo) echo "common topo" ;;
    profiler) echo "common profiler" ;;
    simulator/model) echo "common simulator/model" ;;
    simulator/cost) echo "common topo simulator/model simulator/cost" ;;
    simulator/strategy) echo "common topo simulator/model simulator/strategy" ;;
    simulator/compile) echo "common topo simulator/model simulator/cost simulator/strategy simulator/compile" ;;
    simulator/engine) echo "common topo simulator/cost simulator/compile simulator/engine" ;;
    simulator/report) echo "common topo simulator/model simulator/cost simulator/strategy simulator/compile simulator/engine simulator/report" ;;
    simulator/pipeline) echo "common topo simulator/model simulator/cost simulator/strategy simulator/compile simulator/engine simulator/report simulator/pipeline" ;;
    simulator/calibrate) echo "common topo simulator/model simulator/cost simulator/strategy simulator/compile simulator/engine simulator/report simulator/pipeline simulator/calibrate" ;;
    simulator/search) echo "common topo simulator/model simulator/cost simulator/strategy simulator/compile simulator/engine simulator/report simulator/pipeline simulator/search" ;;
    simulator/cli) echo "common topo simulator" ;;
  esac
}
fail=0
for dir in common topo profiler simulator/model simulator/cost simulator/strategy simulator/compile \
           simulator/engine simulator/report simulator/pipeline simulator/calibrate simulator/search simulator/cli; do
  [ -d "$dir" ] || continue
  allowed=$(allowed_for "$dir")
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<< "${line#*:}")
    target=$(dirname "$inc")
    ok=0
    for a in $allowed; do
      case "$target" in "$a"|"$a"/*) ok=1 ;; esac
    done
    # Only project folders are policed; system and library headers use <...>.
    case "$target" in common*|topo*|simulator*|profiler*) ;; *) ok=1 ;; esac
    if [ $ok -eq 0 ]; then
      echo "forbidden include: $file includes \"$inc\" ($dir may include: $allowed)"
      fail=1
    fi
  done < <(grep -rn --include='*.h' --include='*.cc' --include='*.cu' --include='*.cuh' '#include "' "$dir" | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done
# The simulator never needs CUDA headers.
if grep -rn --include='*.h' --include='*.cc' -E '#include <(cuda|cublas|cudnn|nccl|cupti)' common topo simulator; then
  echo "forbidden: CUDA header outside profiler/"
  fail=1
fi
if [ $fail -eq 0 ]; then echo "layering: ok"; fi
exit $fail
