// The zero-bubble schedule kinds in strategy files and flags: parsed, printed back, and refused
// with the field or flag named when the schedule cannot run.
#include <gtest/gtest.h>

#include "common/error.h"
#include "simulator/strategy/shorthand.h"
#include "simulator/strategy/strategy.h"
#include "simulator/strategy/validate.h"
#include "tests/strategy/tiny_model.h"

namespace proteus {
namespace {

Strategy Parse(const std::string& text) { return ParseStrategy(ParseJson(text, "s.json"), "s.json"); }

std::string ErrorOf(const std::string& text) {
  try {
    Parse(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string Doc(const std::string& schedule) {
  return R"({"format": "proteus.strategy/1", "mesh": [{"axis": "pp", "size": 2}], "global_batch": 8, "schedule": )" +
         schedule + "}";
}

TEST(ScheduleKinds, ParseAndPrintRoundTrip) {
  Strategy zb = Parse(Doc(R"({"kind": "zb-h1"})"));
  EXPECT_EQ(zb.schedule.kind, ScheduleKind::kZbH1);
  EXPECT_EQ(zb.VirtualStages(), 2);
  Strategy dp = Parse(Doc(R"({"kind": "dualpipev"})"));
  EXPECT_EQ(dp.schedule.kind, ScheduleKind::kDualPipeV);
  EXPECT_EQ(dp.schedule.chunks, 2);  // fixed by the V placement
  EXPECT_EQ(dp.VirtualStages(), 4);
  Strategy zv = Parse(Doc(R"({"kind": "zb-v"})"));
  EXPECT_EQ(zv.schedule.kind, ScheduleKind::kZbV);
  EXPECT_EQ(zv.VirtualStages(), 4);
  for (const Strategy& s : {zb, zv, dp}) {
    Json printed = StrategyToJson(s);
    Strategy back = ParseStrategy(printed, "printed");
    EXPECT_EQ(back.schedule.kind, s.schedule.kind);
    EXPECT_EQ(back.schedule.chunks, s.schedule.chunks);
    EXPECT_EQ(StrategyToJson(back).dump(), printed.dump());
  }
}

TEST(ScheduleKinds, FixedChunkCountsCannotBeChanged) {
  EXPECT_EQ(ErrorOf(Doc(R"({"kind": "dualpipev", "chunks": 2})")), "(accepted)");  // restated
  EXPECT_EQ(ErrorOf(Doc(R"({"kind": "dualpipev", "chunks": 3})")).rfind("s.json: schedule.chunks:", 0), 0u)
      << ErrorOf(Doc(R"({"kind": "dualpipev", "chunks": 3})"));
  EXPECT_NE(ErrorOf(Doc(R"({"kind": "zb-h1", "chunks": 2})")).find("schedule.chunks"), std::string::npos);
  EXPECT_NE(ErrorOf(Doc(R"({"kind": "zb-v", "chunks": 4})")).find("schedule.chunks"), std::string::npos);
  EXPECT_NE(ErrorOf(Doc(R"({"kind": "zb-h2"})")).find("schedule.kind"), std::string::npos);
}

TEST(ScheduleKinds, FlagParsesAndNamesItself) {
  Model m = testing::TinyGpt(4);
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "dualpipev";
  Strategy s = ExpandShorthand(m, o);
  EXPECT_EQ(s.schedule.chunks, 2);
  EXPECT_EQ(s.VirtualStages(), 4);  // one layer per stage
  o.schedule = "zb-h1";
  EXPECT_EQ(ExpandShorthand(m, o).schedule.kind, ScheduleKind::kZbH1);
  for (std::string bad : {"dualpipev:2", "zb-h1:1", "zbh1"}) {
    o.schedule = bad;
    try {
      ExpandShorthand(m, o);
      ADD_FAILURE() << bad << " accepted";
    } catch (const UserError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--schedule:", 0), 0u) << e.what();
    }
  }
}

std::string Rejection(const Model& m, int pp, int64_t gbs, const std::string& schedule) {
  try {
    ShorthandOptions o;
    o.pp = pp;
    o.global_batch = gbs;
    o.schedule = schedule;
    ValidateStrategy(m, ExpandShorthand(m, o), pp);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ScheduleKinds, DualPipeVNeedsTwoRanksAndTwiceAsManyMicroBatches) {
  Model m = testing::TinyGpt(8);
  EXPECT_EQ(Rejection(m, 2, 4, "dualpipev"), "(accepted)");
  EXPECT_EQ(Rejection(m, 1, 4, "dualpipev"), "shorthand: schedule.kind dualpipev needs pp >= 2");
  EXPECT_EQ(Rejection(m, 2, 3, "dualpipev"), "shorthand: schedule.kind dualpipev needs micro-batches (3) >= 2 x pp (4)");
  EXPECT_EQ(Rejection(m, 3, 6, "dualpipev"), "(accepted)");  // DualPipeV, unlike DualPipe, takes an odd pp
  // Too few layers for 2 pp stages: 8 stages of a 4-layer model.
  Model small = testing::TinyGpt(4);
  EXPECT_EQ(Rejection(small, 4, 8, "dualpipev").rfind("--pp: 8 pipeline stages", 0), 0u) << Rejection(small, 4, 8, "dualpipev");
  EXPECT_EQ(Rejection(m, 3, 2, "zb-h1"), "(accepted)");  // any m, like 1f1b
  EXPECT_EQ(Rejection(m, 3, 2, "zb-v"), "(accepted)");   // any m (padded order)
  EXPECT_EQ(Rejection(m, 1, 2, "zb-v"), "shorthand: schedule.kind zb-v needs pp >= 2 (two chunks per GPU in a V)");
}

TEST(ScheduleKinds, DualPipeKeepsPpStagesAndRoundTrips) {
  Strategy s = Parse(Doc(R"({"kind": "dualpipe"})"));
  EXPECT_EQ(s.schedule.kind, ScheduleKind::kDualPipe);
  EXPECT_EQ(s.schedule.chunks, 1);  // the model is cut into pp stages; each GPU holds two of them
  EXPECT_EQ(s.VirtualStages(), 2);
  Json printed = StrategyToJson(s);
  EXPECT_EQ(printed["schedule"]["kind"].get<std::string>(), "dualpipe");
  EXPECT_EQ(ParseStrategy(printed, "printed").schedule.kind, ScheduleKind::kDualPipe);
  EXPECT_NE(ErrorOf(Doc(R"({"kind": "dualpipe", "chunks": 2})")).find("schedule.chunks"), std::string::npos);
  Model m = testing::TinyGpt(4);
  ShorthandOptions o;
  o.pp = 2;
  o.global_batch = 4;
  o.schedule = "dualpipe";
  EXPECT_EQ(ExpandShorthand(m, o).schedule.kind, ScheduleKind::kDualPipe);
  o.schedule = "dualpipe:2";
  EXPECT_THROW(ExpandShorthand(m, o), UserError);
}

std::string FileRejection(const Model& m, int pp, int64_t gbs) {
  try {
    ShorthandOptions o;
    o.pp = pp;
    o.global_batch = gbs;
    o.schedule = "dualpipe";
    Strategy s = ExpandShorthand(m, o);
    s.origin = "s.json";
    ValidateStrategy(m, s, pp);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ScheduleKinds, DualPipeNeedsAnEvenPpAndAnEvenCountOfTwiceAsManyMicroBatches) {
  // dualpipe.py step(): assert num_ranks % 2 == 0; num_chunks % 2 == 0 and >= num_ranks * 2.
  Model m = testing::TinyGpt(8);
  EXPECT_EQ(Rejection(m, 2, 4, "dualpipe"), "(accepted)");
  EXPECT_EQ(Rejection(m, 4, 8, "dualpipe"), "(accepted)");
  EXPECT_EQ(Rejection(m, 3, 6, "dualpipe"),
            "--schedule: dualpipe needs an even pp >= 2 (rank r mirrors rank pp-1-r); got pp 3");
  EXPECT_EQ(Rejection(m, 1, 4, "dualpipe"),
            "--schedule: dualpipe needs an even pp >= 2 (rank r mirrors rank pp-1-r); got pp 1");
  EXPECT_EQ(Rejection(m, 4, 6, "dualpipe"),
            "--schedule: dualpipe needs an even number of micro-batches >= 2 x pp (8), half per direction; got 6");
  EXPECT_EQ(Rejection(m, 2, 5, "dualpipe"),
            "--schedule: dualpipe needs an even number of micro-batches >= 2 x pp (4), half per direction; got 5");
  // A strategy file names its field.
  EXPECT_EQ(FileRejection(m, 4, 6).rfind("s.json: schedule.kind: dualpipe needs an even number", 0), 0u)
      << FileRejection(m, 4, 6);
}

}  // namespace
}  // namespace proteus
