// The throughput and batch lines of the text report by kind of model: a sequence model counts
// tokens, a vision model images (and names their size), any other model samples; never "seq 0".
#include <gtest/gtest.h>

#include <sstream>

#include "simulator/report/report.h"

namespace proteus {
namespace {

Report Base(int64_t seq_len, int64_t image_size) {
  Report r;
  r.model = "m";
  r.cluster = "c";
  r.global_batch = 256;
  r.micro_batches = 1;
  r.seq_len = seq_len;
  r.image_size = image_size;
  r.iteration_time_s = 0.5;
  r.samples_per_s = 512;                                   // 256 / 0.5 s
  r.tokens_per_s = 512.0 * std::max<int64_t>(seq_len, 1);  // as BuildReport computes it
  return r;
}

std::string Table(const Report& r) {
  std::ostringstream out;
  PrintReportTable(r, out);
  return out.str();
}

TEST(ThroughputReport, SequenceModelCountsTokens) {
  std::string t = Table(Base(2048, 0));
  EXPECT_NE(t.find("512.00 samples/s, 1048576 tokens/s"), std::string::npos) << t;  // 512 * 2048
  EXPECT_NE(t.find("256 (1 micro-batches per pipeline), seq 2048"), std::string::npos) << t;
}

TEST(ThroughputReport, VisionModelCountsImages) {
  Report r = Base(0, 224);
  std::string t = Table(r);
  EXPECT_NE(t.find("512.00 images/s"), std::string::npos) << t;
  EXPECT_NE(t.find("256 (1 micro-batches per pipeline), images 224x224\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("tokens"), std::string::npos) << t;
  EXPECT_EQ(t.find("seq"), std::string::npos) << t;
  Json j = ReportToJson(r);
  EXPECT_EQ(j["images_per_s"].get<double>(), 512.0);
  EXPECT_EQ(j["inputs"]["image_size"].get<int64_t>(), 224);
  EXPECT_EQ(j["tokens_per_s"].get<double>(), 512.0);  // field kept: samples/s * max(seq, 1)
}

TEST(ThroughputReport, OtherModelsCountSamplesOnly) {
  Report r = Base(0, 0);
  std::string t = Table(r);
  EXPECT_NE(t.find("512.00 samples/s\n"), std::string::npos) << t;
  EXPECT_NE(t.find("256 (1 micro-batches per pipeline)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("tokens"), std::string::npos) << t;
  Json j = ReportToJson(r);
  EXPECT_FALSE(j.contains("images_per_s"));
  EXPECT_FALSE(j["inputs"].contains("image_size"));
  EXPECT_FALSE(ReportToJson(Base(2048, 0)).contains("images_per_s"));
}

}  // namespace
}  // namespace proteus
