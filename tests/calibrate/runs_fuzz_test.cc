// Fuzz test of the measured-run readers: mutated proteus.run/1 and proteus.suite/1 documents
// (tree, deep and text mutations, tests/common/json_mutator.h) and mutated Megatron-LM / NeMo logs
// (a line truncated, a byte flipped, a number edited, a line dropped or repeated) either read or
// throw a UserError naming the file; nothing else escapes, nothing crashes. Deterministic (fixed
// seeds), bounded by iteration count (about a second in all).
#include <random>
#include <stdexcept>
#include <typeinfo>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/calibrate/megatron_log.h"
#include "simulator/calibrate/read_runs.h"
#include "simulator/calibrate/run_file.h"
#include "tests/common/json_mutator.h"
#include "tests/common/temp_dir.h"

namespace proteus {
namespace {

std::string MegatronLog() {
  std::string log = "------------------------ arguments ------------------------\n";
  for (const char* line :
       {"num_layers 4", "hidden_size 256", "num_attention_heads 8", "ffn_hidden_size 1024", "seq_length 512",
        "max_position_embeddings 512", "tensor_model_parallel_size 2", "pipeline_model_parallel_size 2",
        "virtual_pipeline_model_parallel_size 2", "world_size 8", "micro_batch_size 1", "global_batch_size 16",
        "group_query_attention True", "num_query_groups 4", "swiglu True", "normalization RMSNorm",
        "recompute_granularity full", "sequence_parallel True", "use_distributed_optimizer True", "bf16 True",
        "hidden_dropout 0.0", "vocab_size 32000", "make_vocab_size_divisible_by 128"}) {
    std::string l = line;
    size_t space = l.find(' ');
    log += "  " + l.substr(0, space) + " " + std::string(40 - space, '.') + l.substr(space) + "\n";
  }
  log += "-------------------- end of arguments ---------------------\n";
  for (int i = 1; i <= 6; ++i)
    log += " [2024-05-01 10:00:0" + std::to_string(i) + "] iteration " + std::to_string(10 * i) +
           "/ 100 | consumed samples: " + std::to_string(160 * i) + " | elapsed time per iteration (ms): " +
           std::to_string(300 + i) + ".5 | throughput per GPU (TFLOP/s/GPU): 12" + std::to_string(i) +
           ".0 | loss scale: 65536.0 | number of skipped iterations: " + (i == 4 ? "  1" : "  0") + " |\n";
  return log;
}

std::string NemoLog() {
  std::string log =
      "trainer:\n  devices: 4\n  num_nodes: 2\n  precision: bf16\nmodel:\n  micro_batch_size: 1\n"
      "  global_batch_size: 16\n  tensor_model_parallel_size: 2\n  encoder_seq_length: 512\n  num_layers: 4\n"
      "  hidden_size: 256\n  ffn_hidden_size: 1024\n  num_attention_heads: 8\n  num_query_groups: 4\n"
      "  activation: swiglu\n  optim:\n    name: distributed_fused_adam\n"
      "Padded vocab_size: 32000, original vocab_size: 32000, dummy tokens: 0.\n";
  for (int i = 0; i < 5; ++i)
    log += "\rEpoch 0: :  " + std::to_string(i) + "%| | " + std::to_string(i + 1) + "/100 [00:0" +
           std::to_string(i) + "<01:00, global_step=" + std::to_string(i) + ".000, train_step_timing in s=0." +
           std::to_string(31 + i) + "]";
  return log + "\n";
}

// Damages a log the ways real logs are damaged: a killed job's cut line, a flipped byte, an edited
// number, a lost or repeated line.
class LogMutator {
 public:
  explicit LogMutator(uint64_t seed) : rng_(seed) {}

  std::string Mutate(std::string text) {
    int n = 1 + static_cast<int>(Pick(3));
    for (int i = 0; i < n && !text.empty(); ++i) {
      switch (Pick(5)) {
        case 0: TruncateLine(text); break;
        case 1: text[Pick(text.size())] = static_cast<char>(Pick(256)); break;
        case 2: EditNumber(text); break;
        case 3: DropOrRepeatLine(text); break;
        default: text.resize(Pick(text.size())); break;  // the file ends early
      }
    }
    return text;
  }

 private:
  size_t Pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

  // [start, end) of a random line.
  std::pair<size_t, size_t> RandomLine(const std::string& text) {
    size_t at = Pick(text.size());
    size_t start = text.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    size_t end = text.find('\n', at);
    return {start, end == std::string::npos ? text.size() : end};
  }

  void TruncateLine(std::string& text) {
    auto [start, end] = RandomLine(text);
    size_t cut = start + Pick(end - start + 1);
    text.erase(cut, end - cut);
  }

  void EditNumber(std::string& text) {
    size_t at = text.find_first_of("0123456789", Pick(text.size()));
    if (at == std::string::npos) return;
    size_t end = text.find_first_not_of("0123456789.", at);
    if (end == std::string::npos) end = text.size();
    static const char* kNumbers[] = {"0", "-1", "1e400", "nan", "inf", "abc", "99999999999999999999", "0.0", "",
                                     "3", "1024", "-0", "2147483648", "1.5"};
    text.replace(at, end - at, kNumbers[Pick(std::size(kNumbers))]);
  }

  void DropOrRepeatLine(std::string& text) {
    auto [start, end] = RandomLine(text);
    std::string line = text.substr(start, std::min(end + 1, text.size()) - start);
    if (Pick(2)) text.erase(start, line.size());
    else text.insert(start, line);
  }

  std::mt19937_64 rng_;
};

// Runs `read`; "" if it returned or threw a UserError whose message names one of `names`, else what
// went wrong.
template <typename F>
std::string Check(F read, const std::vector<std::string>& names) {
  try {
    read();
  } catch (const UserError& e) {
    std::string m = e.what();
    for (const auto& n : names)
      if (m.find(n) != std::string::npos) return "";
    return "UserError naming no file: " + m;
  } catch (const std::exception& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "non-standard exception";
  }
  return "";
}

TEST(RunsFuzz, MutatedRunFilesReadOrThrowUserErrorNamingTheFile) {
  TempDir dir("proteus_runs_fuzz_json");
  std::string log = dir.Write("train.log", MegatronLog());
  std::string path = (dir.path() / "runs.json").string();
  Json valid = {
      {"format", "proteus.run/1"},
      {"runs",
       {{{"name", "a"},
         {"model", "gpt3-13b"},
         {"cluster", "dgx-a100-8"},
         {"strategy", {{"tp", 8}, {"pp", 1}, {"dp", 8}, {"mbs", 1}, {"gbs", 64}, {"sp", true}}},
         {"iteration_samples_s", {9.5, 1.5, 1.25, 1.0}},
         {"warmup", 1},
         {"measured", {{"mfu", 0.41}}},
         {"source", "s"}},
        {{"log", "train.log"}, {"cluster", "dgx-a100-1"}, {"log_args", {{"num_layers", 4}}}, {"warmup", 1}}}},
      {"kernels",
       {{{"name", "g"},
         {"gpu", "H100-SXM5-80GB"},
         {"keys", {"gemm|bf16|fwd|k=1024,m=1024,n=1024|", "add|bf16|fwd|elements=1024|"}},
         {"measured", {{"tflops", 600}, {"flops", 2147483648}}}}}}};
  auto read = [&](const Json& j) {
    std::string e = Check([&] { (void)RunSetFromJson(j, path); }, {path, log, "fuzz.json"});
    if (!e.empty()) throw std::logic_error(e);
  };
  fuzz::FuzzStats stats;
  EXPECT_EQ(fuzz::FuzzJsonReader(valid, 7, 400, read, &stats), "");
  EXPECT_GT(stats.accepted, 40) << stats.rejected << " rejected";
}

TEST(RunsFuzz, MutatedSuitesReadOrThrowUserErrorNamingTheFile) {
  Json suite = ReadJsonFile("data/validation/megatron-sc21-table1.json");
  suite["cases"] = Json::array({suite["cases"][0], suite["cases"][1]});
  auto read = [](const Json& j) {
    std::string e = Check([&] { (void)RunSetFromJson(j, "suite.json"); }, {"suite.json", "fuzz.json"});
    if (!e.empty()) throw std::logic_error(e);
  };
  fuzz::FuzzStats stats;
  EXPECT_EQ(fuzz::FuzzJsonReader(suite, 11, 300, read, &stats), "");
  EXPECT_GT(stats.accepted, 30) << stats.rejected << " rejected";
}

TEST(RunsFuzz, MutatedLogsReadOrThrowUserErrorNamingTheFile) {
  TempDir dir("proteus_runs_fuzz_log");
  int accepted = 0, rejected = 0;
  for (const auto& [seed, valid] : {std::pair<uint64_t, std::string>{3, MegatronLog()}, {5, NemoLog()}}) {
    std::string path = dir.Write("valid.log", valid);
    ASSERT_NO_THROW(ReadMegatronLog(path)) << valid;
    LogMutator mut(seed);
    int iterations = fuzz::FuzzIterations(400);
    for (int i = 0; i < iterations; ++i) {
      std::string text = mut.Mutate(valid);
      path = dir.Write("train.log", text);
      // Half through the dispatcher, which must also tell a damaged log from other files.
      std::string e = i % 2 ? Check([&] { (void)ReadMegatronLog(path); }, {path})
                            : Check([&] { (void)ReadRuns({path}, {.cluster = "dgx-a100-1"}); }, {path});
      ASSERT_EQ(e, "") << "seed " << seed << " iteration " << i << "\ninput:\n" << text;
      bool ok = Check([&] { (void)ReadMegatronLog(path); }, {}).empty();
      (ok ? accepted : rejected) += 1;
    }
  }
  // Most damage hits a line the reader skips or a value it checks; both outcomes must occur.
  EXPECT_GT(accepted, 50) << rejected << " rejected";
  EXPECT_GT(rejected, 50) << accepted << " accepted";
}

}  // namespace
}  // namespace proteus
