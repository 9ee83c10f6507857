// copy: bytes moved by one cudaMemcpyAsync (pinned host memory for h2d/d2h, as frameworks use for
// offload), or by cudaMemcpyPeerAsync from GPU 1 to GPU 0 with peer access enabled when the
// driver allows it (otherwise the driver stages through the host, and that is what is measured).
#include <memory>

#include "profiler/cuda/check.h"
#include "profiler/cuda/ops.h"

namespace proteus::profiler {
namespace {

class CopyOp : public OpInstance {
 public:
  CopyOp(const OpKey& key, OpContext& ctx, int sets) : OpInstance(ctx, sets), dir_(key.attrs.at("dir")) {
    bytes_ = key.shape.at("bytes");
    AddIn("src", DType::kFp8E4M3, bytes_);  // one byte per element
    AddOut("dst", DType::kFp8E4M3, bytes_);
    if (dir_ == "h2d" || dir_ == "d2h") host_ = std::make_unique<PinnedBuffer>(bytes_);
    if (dir_ == "peer") {
      int n = 0;
      PROTEUS_CUDA(cudaGetDeviceCount(&n));
      if (n < 2) throw UnsupportedError("a peer copy needs two GPUs");
      peer_ = ctx.device == 0 ? 1 : 0;
      int can = 0;
      PROTEUS_CUDA(cudaDeviceCanAccessPeer(&can, ctx.device, peer_));
      if (can) {
        cudaError_t e = cudaDeviceEnablePeerAccess(peer_, 0);
        if (e != cudaSuccess && e != cudaErrorPeerAccessAlreadyEnabled) PROTEUS_CUDA(e);
        (void)cudaGetLastError();
      }
      PROTEUS_CUDA(cudaSetDevice(peer_));
      peer_src_ = DeviceBuffer(bytes_);
      PROTEUS_CUDA(cudaMemsetAsync(peer_src_.get(), 0x3c, bytes_, 0));
      PROTEUS_CUDA(cudaDeviceSynchronize());
      PROTEUS_CUDA(cudaSetDevice(ctx.device));
    }
  }
  void Run(int set) override {
    void* dst = out_.at("dst").get();
    const void* src = I("src", set).get();
    cudaStream_t s = ctx_.stream;
    if (dir_ == "h2d") PROTEUS_CUDA(cudaMemcpyAsync(dst, host_->get(), bytes_, cudaMemcpyHostToDevice, s));
    else if (dir_ == "d2h") PROTEUS_CUDA(cudaMemcpyAsync(host_->get(), src, bytes_, cudaMemcpyDeviceToHost, s));
    else if (dir_ == "d2d") PROTEUS_CUDA(cudaMemcpyAsync(dst, src, bytes_, cudaMemcpyDeviceToDevice, s));
    else PROTEUS_CUDA(cudaMemcpyPeerAsync(dst, ctx_.device, peer_src_.get(), peer_, bytes_, s));
  }

 private:
  std::string dir_;
  int64_t bytes_ = 0;
  int peer_ = 0;
  std::unique_ptr<PinnedBuffer> host_;
  DeviceBuffer peer_src_;
};

}  // namespace

std::unique_ptr<OpInstance> CreateCopyOp(const OpKey& key, OpContext& ctx, int sets) {
  return std::make_unique<CopyOp>(key, ctx, sets);
}

}  // namespace proteus::profiler
