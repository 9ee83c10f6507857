// Pipeline schedules: the order in which one pipeline rank runs its forward and backward blocks,
// and where each virtual stage lives.
//
// Blocks. F is a stage's forward of one micro-batch. A backward is either one block (B+W, every
// schedule without a split) or, for the zero-bubble family, two: B computes the input gradients
// and sends them to the previous stage (bwd_data steps, gradient conversions, sends), W the weight
// gradients (bwd_weight steps, the regathers they need, and the gradient buckets after them; see
// compile/backward_split.h). W depends only on its own B, so it can wait to fill a bubble; what only
// W reads (the saved input of a weight GEMM) stays allocated until W runs.
//
// With p pipeline ranks, m micro-batches and rank i (0-based):
//   gpipe        F0 .. F(m-1), then B0 .. B(m-1)
//   1f1b         warm-up min(p-i-1, m) forwards, then alternate one forward and one backward,
//                then the remaining backwards (PipeDream-Flush, Narayanan et al. 2021): at most
//                p-i micro-batches in flight, bubble (p-1)(F+B+W) per rank on uniform stages
//   interleaved  V chunks per rank (virtual stage v = chunk*p + i); forward unit k runs chunk
//                (k mod pV) / p on micro-batch (k / pV)*p + k mod p, backward chunks in reverse;
//                warm-up (p-i-1)*2 + (V-1)*p units (Megatron-LM's interleaved 1F1B), needs m % p == 0
//   zb-h1        1f1b's order of F and B; rank i runs W(k) right after B(k+i), holding i W's back,
//                and the held W's fill the cool-down (Qi et al., "Zero Bubble Pipeline
//                Parallelism", ICLR 2024, ZB-H1). In flight on rank i: p-i micro-batches as in
//                1f1b plus i awaiting W, so every rank peaks at p (1f1b's rank 0). Bubble
//                (p-1)(F+B-W), a third of 1f1b's when F = B = W.
//   zb-v         two chunks per rank in V placement (chunk 0 is stage i, chunk 1 stage 2p-1-i), split
//                backward: Qi et al.'s ZB-V (sec. 6) in PyTorch's closed form (ScheduleZBVZeroBubble):
//                warm-up 2(p-i)-1 F, i rounds F' F, p-i rounds F' B' W'; steady F B W F' B' W';
//                cool-down i rounds B B', p-i rounds B W, then the W's owed. Peak 2p chunks (half a
//                stage each: 1f1b's p stages) on every rank; bubble (p-1)F of a chunk when F = B = W
//                (only rank p-1's wait for the first micro-batch), half of zb-h1's on one model.
//                Any m: the order is built for max(m, 2p-1) and the blocks beyond m dropped.
//   dualpipev    two chunks per rank in V placement: chunk 0 is stage i, chunk 1 stage 2p-1-i, so
//                rank 0 holds the first and the last stage and the micro-batches turn around on
//                rank p-1. The order is deepseek-ai/DualPipe's DualPipeV ("cut-in-half" DualPipe:
//                one model copy, micro-batches from one end): eight phases of F0, F1, B, W and
//                F&B pairs (below). A pair is an F of one chunk and the full backward of the other,
//                started together once both inputs have arrived (DualPipe overlaps their compute
//                and communication; on one compute stream the gain is that each one's p2p hides
//                under the other's compute). Needs p >= 2 and m >= 2p. Bubble on uniform chunks
//                (p-1)(F&B + B - 3W) with F&B = F + B (DeepSeek-V3 report, Table 2, with its PP/2
//                = p ranks of the V); parameters 1x, activations 2p+1 chunks on every rank.
//   dualpipe     deepseek-ai/DualPipe's two-direction DualPipe (dualpipe.py): the model in p stages
//                (p even), rank i holding two of them: chunk 0 is stage i of direction 0
//                (micro-batches 0..m/2-1 enter at rank 0 and flow to rank p-1), chunk 1 stage p-1-i
//                of direction 1 (m/2..m-1 enter at rank p-1 and flow to rank 0). Rank i and its
//                mirror p-1-i run DualPipeV's eight phases with half-rank h = min(i, p-1-i) over p/2
//                ranks and m/2 micro-batches per direction, phase 0 being the direction that enters
//                on the rank's side. Every stage's parameters are on two ranks (2x); their gradients
//                are summed by an all-reduce over each mirror pair before the optimizer step. Needs
//                p even and m even >= 2p. Bubble on uniform stages (p/2-1)(F&B + B - 3W), F&B = F + B
//                (DeepSeek-V3 report, Table 2); activations p+1 stages on every rank.
//
// Worked examples, p 4, m 8:
//   1f1b rank 1:  F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 F6 B4 F7 B5 B6 B7.
//   zb-h1 rank 1: F0 F1 F2 B0 F3 B1 W0 F4 B2 W1 F5 B3 W2 F6 B4 W3 F7 B5 W4 B6 W5 B7 W6 W7
//                 (rank 0 never holds a W back: ... F7 B4 W4 B5 W5 B6 W6 B7 W7; rank 3 holds three).
//   zb-v rank 3 (' = chunk 1): F0 F0' F1 F1' F2 F2' F3 F3' B0' W0' F4 B0 W0 F4' B1' W1' F5 B1 W1 ...
//                 F7' B4' W4' B4 B5' B5 B6' B6 B7' B7 W4 W5' W6' W7' W5 W6 W7
//   dualpipev rank 0 (' = chunk 1, BW = an unsplit backward, (..) = an F&B pair):
//                 F0 F1 F2 F3 F4 F5 F6 F0' B0' W0' F1' B1' W1' F2' B2' W2' F3' (F7 BW3') (F4' BW0)
//                 BW4' (F5' BW1) BW5' (F6' BW2) BW6' (F7' BW3) BW7' B4 W4 B5 W5 B6 W6 B7 W7
//   dualpipe rank 0 (' = chunk 1, direction 1's micro-batches 4..7): h 0, two half ranks, four
//                 micro-batches a direction: 2 F0, one round F0 F1, one B1 W1 F1, one main round of
//                 pairs, one B1 (F1 B0), one round B1 B0 (B0's W deferred), one W B0, one W:
//                 F0 F1 F2 F4' B4' W4' F5' (F3 BW5') (F6' BW0) BW6' (F7' BW1) BW7' B2 W2 B3 W3
//   dualpipe rank 3 mirrors it: F4' F5' F6' F0 B0 W0 F1 (F7' BW1) (F2 BW4') BW2 (F3 BW5') BW3 B6' W6' B7' W7'
//   dualpipe rank 1 (h 1, a middle rank: its first main pair is not overlapped):
//                 F0 F4' F1 F5' F2 BW4' (F6' BW0) (F3 BW5') (F7' BW1) BW6' BW2 B7' B3 W7' W3
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "simulator/strategy/strategy.h"

namespace proteus {

enum class BlockKind : uint8_t {
  kForward,     // F
  kBackward,    // the whole backward (B + W) as one block
  kInputGrad,   // B: input gradients and their sends
  kWeightGrad,  // W: weight gradients and their buckets (after its own B)
};
std::string_view BlockKindName(BlockKind k);  // "F", "BW", "B", "W"

struct PipelineBlock {
  int chunk = 0;       // model chunk on this rank (0 unless the schedule has several)
  int microbatch = 0;
  BlockKind kind = BlockKind::kForward;
  /// An F that starts together with the next block (a backward): the pair waits for both inputs.
  bool paired_with_next = false;

  bool forward() const { return kind == BlockKind::kForward; }
};

/// Blocks of pipeline rank `rank` of `ranks`, in execution order.
std::vector<PipelineBlock> PipelineOrder(const Schedule& schedule, int rank, int ranks, int microbatches);

/// Whether the schedule places two chunks per rank in a V (zb-v, dualpipev).
bool VPlacement(const Schedule& schedule);
/// Whether micro-batches flow in two directions over two copies of the model (dualpipe).
bool TwoDirections(const Schedule& schedule);
/// The virtual stage chunk `chunk` of pipeline rank `rank` runs: chunk*p + rank (interleaved
/// placement), in a V rank (chunk 0) and 2p-1-rank (chunk 1), or for dualpipe rank (chunk 0,
/// direction 0) and p-1-rank (chunk 1, direction 1).
int StageOfChunk(const Schedule& schedule, int rank, int chunk, int ranks);
/// The pipeline rank that holds virtual stage `stage` for micro-batches of `direction` (the
/// inverse of StageOfChunk). Only dualpipe has a direction 1: stage s is on rank p-1-s there.
int RankOfStage(const Schedule& schedule, int stage, int ranks, int direction = 0);
/// Every pipeline rank that holds stage `stage`, ascending: one, or two under dualpipe (s, p-1-s).
std::vector<int> RanksOfStage(const Schedule& schedule, int stage, int ranks);
/// The direction of micro-batch `mb` of `m`: 0, or under dualpipe 1 for the second half
/// (m/2 .. m-1 enter at rank p-1).
int DirectionOf(const Schedule& schedule, int mb, int m);
/// The first and one past the last micro-batch of `direction`: [0, m), or dualpipe's halves.
std::pair<int, int> MicrobatchesOf(const Schedule& schedule, int direction, int m);

}  // namespace proteus
