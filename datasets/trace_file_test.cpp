#include "datasets/trace_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "datasets/results_file.h"
#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

using test_util::EditFile;
using test_util::Msg;
using test_util::ReadBytes;
using test_util::WriteBytes;
using ::testing::HasSubstr;
using ::testing::NanSensitiveDoubleEq;
using ::testing::Pointwise;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class TraceFileTest : public test_util::TempDirTest {
 protected:
  TraceFileTest() : TempDirTest("trace_file_test") {}
};

// A trace with everything a reader must give back: NaN gaps, channels whose
// names need escaping (or repeat), events with an instant end and UTF-8 text.
Trace Filled(std::size_t n = 50) {
  Trace t;
  t.start = 120;
  t.step = 60;
  t.epoch = 1709294400;
  t.unit = "requests/s";
  t.provenance = "csv:export.csv time_col=ts value_cols=a,b step=60 agg=mean";
  for (std::size_t i = 0; i < n; ++i) t.demand.push_back(100 + static_cast<double>(i));
  t.demand[3] = kNaN;
  t.demand[4] = kNaN;
  const char* names[] = {"interactive", "cpu{instance=\"10.0.0.1:9100\",path=\"/api/v1\"}",
                         "100%/.",      "",
                         "interactive", "."};
  for (std::size_t c = 0; c < std::size(names); ++c) {
    TraceChannel ch;
    ch.name = names[c];
    ch.kind = c == 0 ? "class" : "series";
    ch.unit = c == 1 ? "cores" : "";
    for (std::size_t i = 0; i < n; ++i) ch.values.push_back(static_cast<double>(c * 1000 + i));
    ch.values[c] = kNaN;
    t.channels.push_back(ch);
  }
  Event launch;
  launch.start = 600;
  launch.end = 1800;
  launch.announced = 0;
  launch.source = "scenario";
  launch.category = "launch";
  launch.magnitude = 2.5;
  launch.text = "Produktstart \xE2\x80\x94 v2";
  Event news;
  news.start = 900;  // instant: end stays NaN
  news.announced = 900;
  news.source = "news-feed";
  news.category = "news";
  news.magnitude = 1.2;
  news.text = "";
  t.events = {launch, news};
  return t;
}

void ExpectSameTrace(const Trace& got, const Trace& want) {
  EXPECT_EQ(got.start, want.start);
  EXPECT_EQ(got.step, want.step);
  EXPECT_EQ(got.epoch, want.epoch);
  EXPECT_EQ(got.unit, want.unit);
  EXPECT_EQ(got.provenance, want.provenance);
  EXPECT_THAT(got.demand, Pointwise(NanSensitiveDoubleEq(), want.demand));
  ASSERT_EQ(got.channels.size(), want.channels.size());
  for (std::size_t c = 0; c < want.channels.size(); ++c) {
    SCOPED_TRACE("channel " + std::to_string(c));
    EXPECT_EQ(got.channels[c].name, want.channels[c].name);
    EXPECT_EQ(got.channels[c].kind, want.channels[c].kind);
    EXPECT_EQ(got.channels[c].unit, want.channels[c].unit);
    EXPECT_THAT(got.channels[c].values, Pointwise(NanSensitiveDoubleEq(), want.channels[c].values));
  }
  ASSERT_EQ(got.events.size(), want.events.size());
  for (std::size_t e = 0; e < want.events.size(); ++e) {
    SCOPED_TRACE("event " + std::to_string(e));
    EXPECT_EQ(got.events[e].start, want.events[e].start);
    EXPECT_THAT(got.events[e].end, NanSensitiveDoubleEq(want.events[e].end));
    EXPECT_EQ(got.events[e].announced, want.events[e].announced);
    EXPECT_EQ(got.events[e].magnitude, want.events[e].magnitude);
    EXPECT_EQ(got.events[e].source, want.events[e].source);
    EXPECT_EQ(got.events[e].category, want.events[e].category);
    EXPECT_EQ(got.events[e].text, want.events[e].text);
  }
}

void SetNumberAttribute(hid_t obj, const char* name, hid_t type, const void* value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, type, value);
  H5Aclose(attr);
  H5Sclose(space);
}

void SetStringAttribute(hid_t obj, const char* name, const std::string& value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<std::size_t>(value.size(), 1));
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  std::string buf = value;
  buf.resize(std::max<std::size_t>(buf.size(), 1), '\0');
  H5Awrite(attr, type, buf.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

// A float64 dataset `name` of `n` zeros under `parent`.
hid_t CreateSeries(hid_t parent, const char* name, hsize_t n) {
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t ds =
      H5Dcreate2(parent, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<double> zeros(n, 0.0);
  if (n > 0) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  H5Sclose(space);
  return ds;
}

TEST_F(TraceFileTest, RoundTripKeepsChannelsEventsAndNaN) {
  const Trace trace = Filled();
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, trace).ok());
  absl::StatusOr<Trace> back = ReadTraceFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameTrace(*back, trace);
  EXPECT_TRUE(std::isnan(back->demand[3]));
  EXPECT_TRUE(std::isnan(back->channels[1].values[1]));
  EXPECT_EQ(Listing(), std::vector<std::string>{"trace.h5"});  // no temporary left behind
}

TEST_F(TraceFileTest, EmptyTraceRoundTrips) {
  Trace trace;
  trace.step = 15;
  trace.unit = "";
  const std::string path = Path("empty.h5");
  ASSERT_TRUE(WriteTraceFile(path, trace).ok());
  absl::StatusOr<Trace> back = ReadTraceFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameTrace(*back, trace);
}

TEST_F(TraceFileTest, SameTraceGivesSameBytes) {
  const Trace trace = Filled(20000);  // more than one chunk
  ASSERT_TRUE(WriteTraceFile(Path("a.h5"), trace).ok());
  ASSERT_TRUE(WriteTraceFile(Path("b.h5"), trace).ok());
  const std::string a = ReadBytes(Path("a.h5"));
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == ReadBytes(Path("b.h5")));
  // Overwriting replaces the file whole.
  ASSERT_TRUE(WriteTraceFile(Path("a.h5"), Filled(10)).ok());
  absl::StatusOr<Trace> back = ReadTraceFile(Path("a.h5"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->demand.size(), 10u);
}

TEST_F(TraceFileTest, LooksLikeHdf5ChecksTheSignature) {
  ASSERT_TRUE(WriteTraceFile(Path("t.h5"), Filled()).ok());
  EXPECT_TRUE(LooksLikeHdf5(Path("t.h5")));
  WriteBytes(Path("t.csv"), "time,rps\n2024-03-01T12:00:00Z,5\n");
  EXPECT_FALSE(LooksLikeHdf5(Path("t.csv")));
  EXPECT_FALSE(LooksLikeHdf5(Path("missing.h5")));
  WriteBytes(Path("short"), "\x89HD");
  EXPECT_FALSE(LooksLikeHdf5(Path("short")));
}

TEST_F(TraceFileTest, WriterRejectsChannelOfWrongLengthBeforeTouchingDisk) {
  Trace trace = Filled();
  trace.channels[2].values.pop_back();
  absl::Status s = WriteTraceFile(Path("bad.h5"), trace);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Msg(s), HasSubstr("channel '100%/.' has 49 values, expected 50"));
  EXPECT_TRUE(Listing().empty());
}

TEST_F(TraceFileTest, WriteIntoMissingDirectoryIsNotFound) {
  absl::Status s = WriteTraceFile(Path("no/such/dir/t.h5"), Filled());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(s), HasSubstr("does not exist"));
}

TEST_F(TraceFileTest, MissingFileIsNotFound) {
  absl::StatusOr<Trace> t = ReadTraceFile(Path("nope.h5"));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(t.status()), StartsWith(Path("nope.h5") + ": "));
}

TEST_F(TraceFileTest, ResultsFileIsRejectedByItsFormatName) {
  ResultsData results;
  results.scenario_name = "s";
  results.node_types = {"small"};
  results.control_interval = 15;
  ASSERT_TRUE(WriteResultsFile(Path("run.h5"), results).ok());
  absl::StatusOr<Trace> t = ReadTraceFile(Path("run.h5"));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(t.status()),
            Path("run.h5") + ": /: format is 'meshtwin-results', expected 'meshtwin-trace'");
}

TEST_F(TraceFileTest, OtherHdf5FileIsRejected) {
  const std::string path = Path("other.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  H5Dclose(CreateSeries(file, "temperature", 10));
  H5Fclose(file);
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(t.status()), path + ": /: missing attribute 'format' (not a meshtwin trace file)");
}

TEST_F(TraceFileTest, OtherFormatVersionIsRejected) {
  const std::string path = Path("v2.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    const std::int32_t two = 2;
    SetNumberAttribute(file, "format_version", H5T_NATIVE_INT32, &two);
  });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(t.status()), HasSubstr(path + ": /: format_version 2 is not supported"));
}

TEST_F(TraceFileTest, NonPositiveStepIsRejected) {
  const std::string path = Path("step.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    const double zero = 0;
    SetNumberAttribute(file, "step", H5T_NATIVE_DOUBLE, &zero);
  });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(Msg(t.status()),
            path + ": /: attribute 'step' is 0, expected a positive number of seconds");
}

TEST_F(TraceFileTest, DemandOfWrongTypeIsNamed) {
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    H5Ldelete(file, "demand", H5P_DEFAULT);
    const hsize_t dims[2] = {5, 2};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    H5Dclose(
        H5Dcreate2(file, "demand", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(space);
  });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(t.status()), path + ": /demand: expected 1-D float64, got 2-D int32");
}

TEST_F(TraceFileTest, ChannelOfOtherLengthThanDemandIsRejected) {
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    const hid_t group = H5Gopen2(file, "channels", H5P_DEFAULT);
    const hid_t ds = CreateSeries(group, "extra", 7);
    SetStringAttribute(ds, "name", "extra");
    SetStringAttribute(ds, "kind", "series");
    SetStringAttribute(ds, "unit", "");
    const std::int32_t order = 6;
    SetNumberAttribute(ds, "order", H5T_NATIVE_INT32, &order);
    H5Dclose(ds);
    H5Gclose(group);
  });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(Msg(t.status()), path + ": /channels/extra: has 7 values but /demand has 50");
}

TEST_F(TraceFileTest, ChannelOrderMustBeAPermutation) {
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) {
    const hid_t ds = H5Dopen2(file, "channels/interactive", H5P_DEFAULT);
    const std::int32_t order = 9;
    SetNumberAttribute(ds, "order", H5T_NATIVE_INT32, &order);
    H5Dclose(ds);
  });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(Msg(t.status()),
            path +
                ": /channels/interactive: attribute 'order' is 9, expected 0..5 (one per "
                "channel)");
}

TEST_F(TraceFileTest, MissingEventsTableIsNamed) {
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled()).ok());
  EditFile(path, [](hid_t file) { H5Ldelete(file, "events", H5P_DEFAULT); });
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(Msg(t.status()), path + ": /events: missing dataset");
}

TEST_F(TraceFileTest, TruncatedFileIsInvalidArgument) {
  const std::string path = Path("trace.h5");
  ASSERT_TRUE(WriteTraceFile(path, Filled(20000)).ok());
  const std::string bytes = ReadBytes(path);
  WriteBytes(path, bytes.substr(0, bytes.size() / 2));
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(t.status()), StartsWith(path + ": /: cannot open the HDF5 file (damaged or "
                                                 "truncated?)"));
}

TEST_F(TraceFileTest, GarbageIsNotAnHdf5File) {
  const std::string path = Path("garbage.h5");
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 7919 + 13) % 251);
  WriteBytes(path, bytes);
  absl::StatusOr<Trace> t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(t.status()), path + ": /: not an HDF5 file");

  // The signature alone does not make a file.
  WriteBytes(path, std::string("\x89HDF\r\n\x1a\n", 8) + bytes);
  t = ReadTraceFile(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(t.status()), StartsWith(path + ": /: "));
}

}  // namespace
}  // namespace meshtwin
