#include "topo/nccl_pipeline.h"

#include <algorithm>

#include "common/error.h"

namespace proteus {

int64_t NcclChunkBytes(const ChunkQuery& q) {
  PROTEUS_CHECK(q.channels >= 1 && q.heads >= 1, "chunk query needs channels and heads");
  int64_t buff = q.proto == NcclProto::kLl ? kNcclLlBuffBytes
                 : q.proto == NcclProto::kLl128 ? kNcclLl128BuffBytes : kNcclSimpleBuffBytes;
  int64_t step = buff / kNcclSteps;
  // Ring Simple takes several steps per chunk (ALLREDUCE/ALLGATHER/REDUCESCATTER_CHUNKSTEPS =
  // NCCL_STEPS/2; broadcast and reduce 1); every other algorithm and protocol one step.
  bool multi_step = q.algo == NcclAlgo::kRing && q.proto == NcclProto::kSimple &&
                    (q.op == CollOp::kAllReduce || q.op == CollOp::kAllGather || q.op == CollOp::kReduceScatter);
  int64_t chunk = step * (multi_step ? kNcclRingChunkSteps : 1);
  if (q.proto == NcclProto::kLl) chunk /= 2;                // 8 data bytes per 16-byte line
  if (q.proto == NcclProto::kLl128) chunk = chunk / 128 * 120;  // 120 data bytes per 128-byte line
  if (q.algo == NcclAlgo::kNvls) {
    chunk = std::min(chunk, kNcclNvlsChunkBytes);
    const int64_t concurrent_ops = int64_t(q.channels) * q.heads;
    if (q.bytes < 64 * concurrent_ops * chunk && chunk > 65536) chunk = 65536;
    if (q.bytes < 8 * concurrent_ops * chunk && chunk > 32768) chunk = 32768;
    if (q.bytes < 2 * concurrent_ops * chunk && chunk > 16384) chunk = 16384;
  }
  return chunk;
}

int PipelineStages(NcclAlgo algo, CollOp op) {
  if (algo != NcclAlgo::kNvls) return 1;
  switch (op) {
    case CollOp::kAllReduce: return 3;  // scatter | reduce (multimem) | gather
    case CollOp::kAllGather:
    case CollOp::kReduceScatter: return 2;
    default: return 1;
  }
}

double PipelineFillTime(const ChunkQuery& q, double alg_bw) {
  PROTEUS_CHECK(alg_bw > 0, "pipeline fill needs a bandwidth");
  int stages = PipelineStages(q.algo, q.op);
  if (stages <= 1 || q.bytes <= 0) return 0;
  const double loop = double(q.channels) * q.heads * NcclChunkBytes(q);
  return (stages - 1) * std::min(double(q.bytes), loop) / alg_bw;
}

}  // namespace proteus
