// GPU specifications (data/gpus/<name>.json, proteus.gpu/1): the roofline's ceilings and the
// memory capacity. Every number in those files cites its datasheet.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/dtype.h"

namespace proteus {

struct GpuSpec {
  std::string name;                       // "H100-SXM5-80GB"
  std::map<DType, double> peak_flops;     // dense FLOP/s per math dtype (tensor cores where used)
  double vector_flops = 0;                // non-tensor fp32 FLOP/s (elementwise math)
  double mem_bw = 0;                      // bytes/s, HBM
  int64_t memory_bytes = 0;
  int sm_count = 0;
  double nvlink_bw = 0;                   // bytes/s per direction, all links together (informational)
  double PeakFlops(DType t) const;        // falls back to fp32 tensor rate for unknown dtypes
};

/// Loads data/gpus/<name>.json (or a path). UserError naming the file/field; unknown names list the
/// shipped ones.
GpuSpec LoadGpuSpec(const std::string& name_or_path);

}  // namespace proteus
