// Launch-line reader (pipeline/megatron_launch.h): shell words, torchrun's GPU count, Megatron's
// defaults, the model and strategy of Megatron-LM's own GPT-3 175B example, MoE and GQA
// arguments, the ignored arguments named, and refusals naming the argument.
#include "simulator/pipeline/megatron_launch.h"

#include <algorithm>
#include <gtest/gtest.h>

#include "simulator/model/model_file.h"
#include "simulator/model/zoo.h"
#include "tests/common/temp_dir.h"
#include "tests/user_error_text.h"

namespace proteus {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The arguments of Megatron-LM's examples/gpt3/train_gpt3_175b_distributed.sh (written out here,
// with its shell variables given values), launched on 16 nodes of 8 GPUs.
const char* kGpt3Launch = R"(torchrun --nproc_per_node 8 --nnodes 16 --master_addr node0 --master_port 6000 \
    pretrain_gpt.py \
    --num-layers 96 --hidden-size 12288 --num-attention-heads 96 \
    --seq-length 2048 --max-position-embeddings 2048 \
    --attention-backend auto   # Can use (flash/fused/unfused/local)
    --micro-batch-size 1 --global-batch-size 1536 --rampup-batch-size 16 16 5859375 \
    --train-iters 500000 --weight-decay 0.1 --adam-beta1 0.9 --adam-beta2 0.95 \
    --init-method-std 0.006 --clip-grad 1.0 --fp16 --lr 6.0e-5 --lr-decay-style cosine \
    --min-lr 6.0e-6 --lr-warmup-fraction .001 --lr-decay-iters 430000 \
    --tensor-model-parallel-size 8 --pipeline-model-parallel-size 16 \
    --data-path /data/gpt_text_document --vocab-file gpt2-vocab.json --merge-file gpt2-merges.txt \
    --split 949,50,1 --log-interval 100 --save-interval 10000 --eval-interval 1000 \
    --save /ckpt --load /ckpt --eval-iters 10 --tensorboard-dir /tb
)";

TEST(SplitShellWords, QuotesContinuationsAndComments) {
  auto w = SplitShellWords("a 'b c' \"d e\"\\\n f\\ g # not this\nh", "t");
  EXPECT_EQ(w, (std::vector<std::string>{"a", "b c", "d e", "f g", "h"}));
  EXPECT_EQ(ErrorOf([] { SplitShellWords("--x 'open", "args.sh"); }), "args.sh: unclosed ' quote");
}

TEST(MegatronLaunch, Gpt3ExampleIsTheZooGpt3OnTp8Pp16) {
  MegatronLaunch run = ReadMegatronLaunch(kGpt3Launch, "--from-megatron-args");
  // 50,257 GPT-2 tokens padded to 128 x tp 8 = 1,024: 51,200 rows, the zoo's gpt3-175b exactly.
  EXPECT_EQ(run.spec.model_doc["hf_config"]["vocab_size"], 51200);
  Model m = ModelFromDocument(run.spec.model_doc, "launch");
  ZooOptions fp16;
  fp16.dtype = DType::kFp16;
  Model zoo = BuildZooModel("gpt3-175b", fp16);
  EXPECT_EQ(m.Params(), zoo.Params());
  EXPECT_EQ(m.num_layers, 96);
  EXPECT_EQ(m.seq_len, 2048);
  const StrategyFlags& f = run.spec.flags;
  EXPECT_EQ(f.tp, 8);
  EXPECT_EQ(f.pp, 16);
  EXPECT_EQ(f.dp, 1);  // 8 x 16 GPUs / (8 x 16)
  EXPECT_EQ(f.mbs, 1);
  EXPECT_EQ(f.gbs, 1536);
  EXPECT_EQ(f.schedule, "1f1b");
  EXPECT_EQ(f.zero, 0);
  EXPECT_EQ(f.recompute, "none");
  EXPECT_FALSE(f.overlap_grad_reduce);  // Megatron reduces after backward without --overlap-grad-reduce
  EXPECT_EQ(f.main_grads, "fp16");      // fp16 without --accumulate-allreduce-grads-in-fp32
  EXPECT_EQ(run.spec.dtype, "fp16");
  for (const char* a : {"--lr", "--train-iters", "--adam-beta1", "--lr-decay-style", "--data-path", "--split",
                        "--save", "--tensorboard-dir", "--rampup-batch-size", "--master_addr"})
    EXPECT_TRUE(Has(run.no_effect, a)) << a;
  EXPECT_TRUE(run.not_modelled.empty()) << run.not_modelled.front();
}

TEST(MegatronLaunch, LlamaStyleMoeWithGqaAndOverlaps) {
  MegatronLaunch run = ReadMegatronLaunch(
      "--num-layers 4 --hidden-size 1024 --num-attention-heads 16 --group-query-attention --num-query-groups 4 "
      "--ffn-hidden-size 2816 --seq-length 1024 --swiglu --normalization RMSNorm --vocab-size 32000 --bf16 "
      "--num-experts 8 --moe-router-topk 2 --moe-ffn-hidden-size 512 --expert-model-parallel-size 4 "
      "--micro-batch-size 2 --use-distributed-optimizer --overlap-grad-reduce --overlap-param-gather "
      "--recompute-granularity full --recompute-method uniform --fp8-format hybrid --fp8-recipe tensorwise "
      "--virtual-pipeline-model-parallel-size 2 --pipeline-model-parallel-size 2 --no-masked-softmax-fusion",
      "--from-megatron-args");
  const Json& hf = run.spec.model_doc["hf_config"];
  EXPECT_EQ(hf["model_type"], "llama");
  EXPECT_EQ(hf["num_key_value_heads"], 4);
  EXPECT_EQ(hf["num_experts"], 8);
  EXPECT_EQ(hf["num_experts_per_tok"], 2);
  EXPECT_EQ(hf["moe_intermediate_size"], 512);
  EXPECT_EQ(hf["vocab_size"], 32000);  // already a multiple of 128
  Model m = ModelFromDocument(run.spec.model_doc, "launch");
  EXPECT_EQ(m.num_experts, 8);
  const StrategyFlags& f = run.spec.flags;
  EXPECT_EQ(f.ep, 4);
  EXPECT_EQ(f.dp, 0);  // no launcher: fill the cluster
  EXPECT_EQ(f.mbs, 2);
  EXPECT_EQ(f.gbs, 0);  // Megatron's default: mbs x dp
  EXPECT_EQ(f.zero, 1);
  EXPECT_TRUE(f.overlap_grad_reduce);
  EXPECT_TRUE(f.overlap_param_gather);
  EXPECT_EQ(f.recompute, "full");
  EXPECT_EQ(f.fp8, "hybrid");
  EXPECT_EQ(f.fp8_scaling, "current");
  EXPECT_EQ(f.schedule, "interleaved:2");
  EXPECT_EQ(f.main_grads, "fp32");  // bf16 accumulates in fp32 (Megatron's validate_args)
  EXPECT_EQ(run.spec.dtype, "bf16");
  EXPECT_TRUE(Has(run.not_modelled, "--recompute-method"));
  EXPECT_TRUE(Has(run.not_modelled, "--no-masked-softmax-fusion"));
}

TEST(MegatronLaunch, ReadsAFileAndNamesTheModelAfterIt) {
  TempDir dir("proteus_megatron_launch");
  std::string path = dir.Write("gpt3_175b.sh", kGpt3Launch);
  MegatronLaunch run = ReadMegatronLaunch(path, "--from-megatron-args");
  EXPECT_EQ(run.spec.model, "gpt3_175b");
  EXPECT_EQ(run.spec.model_origin, path);
  EXPECT_EQ(run.spec.flags.tp, 8);
}

TEST(MegatronLaunch, RefusalsNameTheArgument) {
  const std::string base = "--num-layers 4 --hidden-size 512 --num-attention-heads 8 --seq-length 256 "
                           "--vocab-size 1000 --micro-batch-size 1 ";
  auto err = [&](const std::string& extra) { return ErrorOf([&] { ReadMegatronLaunch(base + extra, "--from"); }); };
  EXPECT_EQ(err(""), "(no error)");
  EXPECT_EQ(err("--num-layers four"), "--from: --num-layers: expected a positive integer, got \"four\"");
  EXPECT_NE(err("--recompute-granularity some").find("--recompute-granularity: expected full, selective"),
            std::string::npos);
  EXPECT_NE(err("--fp8-format e5m2").find("--fp8-format: expected e4m3 or hybrid"), std::string::npos);
  EXPECT_NE(err("--num-experts 4").find("--num-experts: proteus models SwiGLU experts only"), std::string::npos);
  EXPECT_EQ(ErrorOf([] { ReadMegatronLaunch("--hidden-size 512 --num-attention-heads 8 --seq-length 256 "
                                            "--vocab-size 1000 --micro-batch-size 1", "--from"); }),
            "--from: missing argument --num-layers (Megatron-LM requires it too)");
  EXPECT_NE(ErrorOf([] { ReadMegatronLaunch("--num-layers 4 --hidden-size 512 --num-attention-heads 8 --seq-length 256 "
                                            "--micro-batch-size 1 --tokenizer-type HuggingFaceTokenizer", "--from"); })
                .find("missing argument --vocab-size"),
            std::string::npos);
  EXPECT_EQ(ErrorOf([] { ReadMegatronLaunch("no/such/args.sh", "--from-megatron-args"); }),
            "--from-megatron-args: no file \"no/such/args.sh\", and not an argument list (--num-layers 96 ...)");
  EXPECT_NE(ErrorOf([] { ReadMegatronLaunch("torchrun --nproc_per_node 8 --nnodes 3 x.py " + std::string(
                                            "--num-layers 4 --hidden-size 512 --num-attention-heads 8 --seq-length 256 "
                                            "--vocab-size 1000 --micro-batch-size 1 --tensor-model-parallel-size 16"),
                                            "--from"); })
                .find("world_size 24 is not a multiple of tp x pp = 16"),
            std::string::npos);
}

}  // namespace
}  // namespace proteus
