#include "datasets/csv_import.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using test_util::Msg;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::NanSensitiveDoubleEq;
using ::testing::Pointwise;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double k2024_03_01_noon = 1709294400;

// Imports `text` as if it came from a file called in.csv.
absl::StatusOr<Trace> Import(const std::string& text, const CsvImportOptions& options = {},
                             ImportReport* report = nullptr) {
  ImportReport local;
  return ImportCsvText(text, "in.csv", options, report != nullptr ? report : &local);
}

// The error message of an import that must fail with InvalidArgument.
std::string ImportError(const std::string& text, const CsvImportOptions& options = {}) {
  absl::StatusOr<Trace> t = Import(text, options);
  if (t.ok()) return "(import succeeded)";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << t.status();
  return Msg(t.status());
}

CsvImportOptions WithStep(double step) {
  CsvImportOptions o;
  o.step = step;
  return o;
}

TEST(CsvImportOptionNames, AggregationAndFill) {
  EXPECT_EQ(*ParseAggregation("sum"), Aggregation::kSum);
  EXPECT_EQ(*ParseAggregation("mean"), Aggregation::kMean);
  EXPECT_EQ(*ParseAggregation("max"), Aggregation::kMax);
  EXPECT_EQ(Msg(ParseAggregation("avg").status()),
            "expected an aggregation sum, mean or max, got 'avg'");
  EXPECT_EQ(*ParseGapFill("none"), GapFill::kNone);
  EXPECT_EQ(*ParseGapFill("linear"), GapFill::kLinear);
  EXPECT_EQ(*ParseGapFill("zero"), GapFill::kZero);
  EXPECT_EQ(*ParseGapFill("previous"), GapFill::kPrevious);
  EXPECT_FALSE(ParseGapFill("spline").ok());
}

// --- Time columns ---------------------------------------------------------

TEST(CsvImport, IsoTimestamps) {
  ImportReport report;
  absl::StatusOr<Trace> t = Import(
      "time,rps\n2024-03-01T12:00:00Z,10\n2024-03-01T12:01:00Z,20\n2024-03-01T12:02:00Z,30.5\n", {},
      &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, k2024_03_01_noon);
  EXPECT_EQ(t->start, 0);
  EXPECT_EQ(t->step, 60);
  EXPECT_THAT(t->demand, ElementsAre(10, 20, 30.5));
  EXPECT_THAT(t->channels, IsEmpty());  // one value column: demand only
  EXPECT_EQ(report.rows, 3u);
  EXPECT_EQ(report.missing, 0u);
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_EQ(t->provenance, "csv:in.csv time_col=time value_cols=rps step=60 agg=mean");
}

TEST(CsvImport, DateSpaceMinutesTimestamps) {
  absl::StatusOr<Trace> t = Import("timestamp,v\n2024-03-01 12:00,1\n2024-03-01 12:05,2\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, k2024_03_01_noon);
  EXPECT_EQ(t->step, 300);
  EXPECT_THAT(t->demand, ElementsAre(1, 2));
}

TEST(CsvImport, UnixSecondsAndMillis) {
  absl::StatusOr<Trace> s = Import("ts,v\n1709294400,1\n1709294460,2\n1709294520,3\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->epoch, k2024_03_01_noon);
  EXPECT_EQ(s->step, 60);
  EXPECT_THAT(s->demand, ElementsAre(1, 2, 3));

  absl::StatusOr<Trace> ms = Import("ts,v\n1709294400000,1\n1709294460000,2\n1709294520000,3\n");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(ms->epoch, k2024_03_01_noon);
  EXPECT_EQ(ms->step, 60);
  EXPECT_THAT(ms->demand, ElementsAre(1, 2, 3));
}

TEST(CsvImport, NamedTimeColumnAndForcedFormat) {
  CsvImportOptions o;
  o.time_col = "When";  // matched ignoring case
  o.time_format = TimeFormat::kUnixMillis;
  absl::StatusOr<Trace> t = Import("value,when\n1,60000\n2,120000\n", o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, 60);
  EXPECT_EQ(t->step, 60);
  EXPECT_THAT(t->demand, ElementsAre(1, 2));
}

TEST(CsvImport, TimeColumnThatIsAllUnparsableFailsAtItsFirstLine) {
  EXPECT_THAT(ImportError("ts,v\nyesterday,1\ntoday,2\n"),
              StartsWith("in.csv:2:1: column 'ts': expected a timestamp"));
}

TEST(CsvImport, MixedTimestampFormatsFailAtTheOddLine) {
  EXPECT_EQ(ImportError("ts,v\n2024-03-01T12:00:00Z,1\n2024-03-01T12:01:00Z,1\n1709294520,2\n"),
            "in.csv:4:1: column 'ts': mixed timestamp formats: earlier rows are ISO-8601, this "
            "one is '1709294520'");
}

TEST(CsvImport, NoTimeColumnFoundSuggestsTheOptions) {
  const std::string m = ImportError("a,b\n1,2\n3,4\n");
  EXPECT_THAT(m, StartsWith("in.csv:1:1: expected a time column (named time, timestamp, ts, date "
                            "or datetime), got columns a, b"));
  EXPECT_THAT(m, HasSubstr("--time-col"));
  EXPECT_THAT(m, HasSubstr("--no-time-col"));
}

TEST(CsvImport, NoTimeColumnUsesStartAndStep) {
  CsvImportOptions o;
  o.no_time_col = true;
  o.start = k2024_03_01_noon;
  o.step = 300;
  ImportReport report;
  absl::StatusOr<Trace> t = Import("a,b\n1,2\n3,4\n5,6\n", o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, k2024_03_01_noon);
  EXPECT_EQ(t->step, 300);
  EXPECT_THAT(t->demand, ElementsAre(1, 3, 5));  // the first column
  ASSERT_EQ(t->channels.size(), 2u);
  EXPECT_EQ(t->channels[0].name, "a");
  EXPECT_EQ(t->channels[0].kind, "series");
  EXPECT_EQ(t->channels[1].name, "b");
  EXPECT_THAT(t->channels[1].values, ElementsAre(2, 4, 6));
  EXPECT_EQ(report.rows, 3u);
  EXPECT_EQ(t->provenance,
            "csv:in.csv time_col=(none) start=1709294400 value_cols=a,b step=300 agg=mean");

  o.demand_from = DemandFrom::kSum;
  t = Import("a,b\n1,2\n3,4\n5,6\n", o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(3, 7, 11));
}

TEST(CsvImport, NoTimeColumnNeedsAStep) {
  CsvImportOptions o;
  o.no_time_col = true;
  EXPECT_EQ(ImportError("a\n1\n", o),
            "in.csv: expected a step (--step SECONDS) with --no-time-col: the rows carry no times");
}

// --- Columns --------------------------------------------------------------

TEST(CsvImport, UnknownValueColumnListsTheHeader) {
  CsvImportOptions o;
  o.value_cols = {"rps", "latency"};
  EXPECT_EQ(ImportError("time,rps,cpu\n0,1,2\n60,1,2\n", o),
            "in.csv:1:1: expected a value column of the header, got unknown column 'latency' "
            "(columns: time, rps, cpu)");
}

TEST(CsvImport, ChosenValueColumnsInTheirOrder) {
  CsvImportOptions o;
  o.value_cols = {"cpu", "rps"};
  o.demand_from = DemandFrom::kSum;
  absl::StatusOr<Trace> t = Import("time,rps,cpu,ignored\n0,1,10,x\n60,2,20,y\n", o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(11, 22));
  ASSERT_EQ(t->channels.size(), 2u);
  EXPECT_EQ(t->channels[0].name, "cpu");
  EXPECT_EQ(t->channels[1].name, "rps");
}

TEST(CsvImport, SumIsNaNOnlyWhereEveryPartIsMissing) {
  CsvImportOptions o;
  o.demand_from = DemandFrom::kSum;
  ImportReport report;
  absl::StatusOr<Trace> t = Import("ts,a,b\n0,1,\n60,,\n120,,3\n", o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, Pointwise(NanSensitiveDoubleEq(), std::vector<double>{1, kNaN, 3}));
  EXPECT_THAT(t->channels[0].values,
              Pointwise(NanSensitiveDoubleEq(), std::vector<double>{1, kNaN, kNaN}));
  EXPECT_EQ(report.missing, 1u);
  EXPECT_THAT(report.warnings, Contains("series 'a': no data for 2 of 3 samples"));
}

TEST(CsvImport, QuotedFieldsWithEscapesAndLineBreaks) {
  absl::StatusOr<Trace> t = Import(
      "\"time\",\"say \"\"hi\"\"\",\"b, c\"\n\"1970-01-01T00:00:00Z\",\"1\",2\n"
      "1970-01-01T00:01:00Z,3,\"4\"\n");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->channels.size(), 2u);
  EXPECT_EQ(t->channels[0].name, "say \"hi\"");
  EXPECT_EQ(t->channels[1].name, "b, c");
  EXPECT_THAT(t->demand, ElementsAre(1, 3));
  EXPECT_THAT(t->channels[1].values, ElementsAre(2, 4));

  // A quoted field may span lines; later lines are still numbered right.
  CsvImportOptions o;
  o.value_cols = {"v"};
  EXPECT_EQ(ImportError("ts,v,note\n0,1,\"two\nlines\"\n60,x,ok\n", o),
            "in.csv:4:4: expected a number in column 'v', got 'x'");
}

// --- Malformed files ------------------------------------------------------

TEST(CsvImport, EmptyFile) {
  EXPECT_EQ(ImportError(""), "in.csv:1:1: expected a header line, got an empty file");
  EXPECT_EQ(ImportError("\n\r\n"), "in.csv:1:1: expected a header line, got an empty file");
}

TEST(CsvImport, HeaderOnly) {
  EXPECT_EQ(ImportError("time,rps\n"), "in.csv:2:1: expected data rows after the header, got none");
  EXPECT_EQ(ImportError("time,rps"), "in.csv:2:1: expected data rows after the header, got none");
}

TEST(CsvImport, RowWithTooFewOrTooManyFields) {
  EXPECT_EQ(ImportError("time,a,b\n0,1,2\n60,3\n120,5,6\n"),
            "in.csv:3:5: expected 3 fields like the header, got 2");
  EXPECT_EQ(ImportError("time,a,b\n0,1,2\n60,3,4,5\n"),
            "in.csv:3:8: expected 3 fields like the header, got 4");
  EXPECT_EQ(ImportError("time,a,b\n0,1,2\n\n60,3,4\n"),
            "in.csv:3:1: expected 3 fields like the header, got an empty line");
}

TEST(CsvImport, NaNAndInfinityAreRejected) {
  EXPECT_EQ(ImportError("ts,rps\n1709294400,1\n1709294460,nan\n"),
            "in.csv:3:12: expected a finite number in column 'rps', got 'nan' (leave the field "
            "empty for a missing sample)");
  EXPECT_THAT(ImportError("ts,rps\n1709294400,inf\n"),
              StartsWith("in.csv:2:12: expected a finite number in column 'rps', got 'inf'"));
  EXPECT_EQ(ImportError("ts,rps\n1709294400,12 rps\n"),
            "in.csv:2:12: expected a number in column 'rps', got '12 rps'");
}

TEST(CsvImport, NegativeDemandIsRejected) {
  EXPECT_EQ(ImportError("ts,rps\n0,1\n60,-5\n"),
            "in.csv:3:4: expected a non-negative number in column 'rps', got '-5' (negative "
            "demand)");
}

TEST(CsvImport, AbsurdValueIsRejected) {
  EXPECT_EQ(ImportError("ts,rps\n0,1\n60,2e13\n"),
            "in.csv:3:4: expected at most 1e+12 in column 'rps', got '2e13' (absurd "
            "value; raise the maximum if it is real)");
  CsvImportOptions o;
  o.max_value = 100;
  o.scale = 10;
  EXPECT_THAT(ImportError("ts,rps\n0,1\n60,20\n", o),
              StartsWith("in.csv:3:4: expected at most 100 in column 'rps', got '20' after "
                         "scaling"));
}

TEST(CsvImport, BinaryGarbageIsNotATextCsvFile) {
  EXPECT_EQ(ImportError(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)),
            "in.csv:3:1: not a text CSV file: expected text, got a NUL byte (binary data?)");
  EXPECT_EQ(ImportError("time,\xff\xfe\x01rps\n0,1\n"),
            "in.csv:1:6: not a text CSV file: expected a UTF-8 header, got byte 0xFF");
}

TEST(CsvImport, UnterminatedQuote) {
  EXPECT_EQ(ImportError("ts,v\n0,\"12\n60,3\n"),
            "in.csv:2:3: expected a closing quote for the field that starts here, got the end of "
            "the file");
}

// --- Encodings and line ends ----------------------------------------------

TEST(CsvImport, Utf8ByteOrderMarkIsSkipped) {
  absl::StatusOr<Trace> t = Import("\xEF\xBB\xBFtime,rps\n0,1\n60,2\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(1, 2));
  // Columns count from after the mark, as editors show them.
  EXPECT_EQ(ImportError("\xEF\xBB\xBFtime,rps\n0,x\n"),
            "in.csv:2:3: expected a number in column 'rps', got 'x'");
}

TEST(CsvImport, CrlfLineEndsAndBlankTrailingLines) {
  absl::StatusOr<Trace> t = Import("time,rps\r\n0,1\r\n60,2\r\n\r\n  \r\n\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(1, 2));
  EXPECT_EQ(ImportError("time,rps\r\n0,1\r\n60,x\r\n"),
            "in.csv:3:4: expected a number in column 'rps', got 'x'");
}

// --- Order, duplicates, resampling -----------------------------------------

TEST(CsvImport, UnsortedRowsAreSortedWithAWarning) {
  ImportReport report;
  absl::StatusOr<Trace> t = Import("ts,v\n120,3\n0,1\n60,2\n", {}, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->epoch, 0);
  EXPECT_THAT(t->demand, ElementsAre(1, 2, 3));
  EXPECT_TRUE(report.sorted);
  EXPECT_THAT(report.warnings, Contains("rows were not in time order; sorted"));
}

TEST(CsvImport, DuplicateTimestampsAreCombined) {
  const std::string text = "ts,v\n0,1\n0,3\n60,5\n60,5\n60,8\n";
  struct Case {
    Aggregation agg;
    std::vector<double> want;
    const char* name;
  };
  for (const Case& c :
       {Case{Aggregation::kSum, {4, 18}, "sum"}, Case{Aggregation::kMean, {2, 6}, "mean"},
        Case{Aggregation::kMax, {3, 8}, "max"}}) {
    SCOPED_TRACE(c.name);
    CsvImportOptions o;
    o.agg = c.agg;
    ImportReport report;
    absl::StatusOr<Trace> t = Import(text, o, &report);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->step, 60);
    EXPECT_THAT(t->demand, Pointwise(NanSensitiveDoubleEq(), c.want));
    EXPECT_EQ(report.duplicates, 3u);
    EXPECT_THAT(
        report.warnings,
        Contains(std::string("3 rows repeated an earlier timestamp; combined with ") + c.name));
  }
}

TEST(CsvImport, ResamplingThirtySecondsToSixty) {
  const std::string text = "ts,v\n0,1\n30,3\n60,5\n90,7\n120,9\n";
  CsvImportOptions o = WithStep(60);
  o.agg = Aggregation::kMean;
  ImportReport report;
  absl::StatusOr<Trace> mean = Import(text, o, &report);
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_EQ(mean->step, 60);
  EXPECT_THAT(mean->demand, ElementsAre(2, 6, 9));
  EXPECT_EQ(report.duplicates, 0u);  // finer rows are not duplicates
  EXPECT_THAT(report.warnings, IsEmpty());
  EXPECT_THAT(mean->provenance, HasSubstr(" step=60 agg=mean"));

  o.agg = Aggregation::kMax;
  absl::StatusOr<Trace> max = Import(text, o);
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_THAT(max->demand, ElementsAre(3, 7, 9));
}

TEST(CsvImport, SingleRowNeedsAStep) {
  EXPECT_EQ(ImportError("ts,v\n0,1\n"),
            "in.csv: cannot infer the step: there is a single sample; give the step (--step "
            "SECONDS)");
  absl::StatusOr<Trace> t = Import("ts,v\n0,1\n", WithStep(60));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(1));
}

TEST(CsvImport, RowsOffTheInferredGridAreCombinedWithAWarning) {
  ImportReport report;
  absl::StatusOr<Trace> t = Import("ts,v\n0,1\n60,2\n120,3\n150,5\n180,6\n240,7\n", {}, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->step, 60);  // three spacings of 60 s outvote two of 30 s
  EXPECT_THAT(t->demand, ElementsAre(1, 2, 4, 6, 7));
  EXPECT_THAT(report.warnings,
              ElementsAre("1 row was not on the inferred 60 s grid; each was combined (mean) "
                          "into the sample it falls in"));
}

TEST(CsvImport, AbsurdlyLongAxisIsRefused) {
  EXPECT_EQ(ImportError("ts,v\n0,1\n1709294400,2\n", WithStep(1)),
            "in.csv: expected at most 100000000 samples, got a time axis of 1709294401 "
            "(1970-01-01T00:00:00Z to 2024-03-01T12:00:00Z every 1 s); check the step and the "
            "time column");
}

TEST(CsvImport, UnknownTimeColumn) {
  CsvImportOptions o;
  o.time_col = "when";
  EXPECT_EQ(ImportError("ts,v\n0,1\n", o),
            "in.csv:1:1: expected the time column 'when' in the header, got columns ts, v");
  // The report is optional.
  EXPECT_TRUE(ImportCsvText("ts,v\n0,1\n60,2\n", "in.csv", {}, nullptr).ok());
}

// --- Gaps and fills --------------------------------------------------------

TEST(CsvImport, GapsAreKeptAsNaNAndReported) {
  ImportReport report;
  absl::StatusOr<Trace> t = Import("ts,v\n0,1\n60,2\n240,5\n300,\n360,7\n", {}, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->step, 60);
  EXPECT_THAT(t->demand,
              Pointwise(NanSensitiveDoubleEq(), std::vector<double>{1, 2, kNaN, kNaN, 5, kNaN, 7}));
  EXPECT_EQ(report.missing, 3u);
  EXPECT_EQ(report.gaps, 2u);
  EXPECT_THAT(report.warnings,
              ElementsAre("gap: no data for 2 samples from 1970-01-01T00:02:00Z to "
                          "1970-01-01T00:04:00Z (sample 2..3)",
                          "gap: no data for 1 sample from 1970-01-01T00:05:00Z to "
                          "1970-01-01T00:06:00Z (sample 5)",
                          "3 of 7 samples missing; kept as NaN (a fill mode would fill them)"));
}

TEST(CsvImport, EachFillMode) {
  const std::string text = "ts,v\n60,\n120,2\n180,\n240,\n300,8\n360,\n";
  struct Case {
    GapFill fill;
    std::vector<double> want;
  };
  for (const Case& c :
       {Case{GapFill::kNone, {kNaN, 2, kNaN, kNaN, 8, kNaN}},
        Case{GapFill::kLinear, {2, 2, 4, 6, 8, 8}}, Case{GapFill::kPrevious, {2, 2, 2, 2, 8, 8}},
        Case{GapFill::kZero, {0, 2, 0, 0, 8, 0}}}) {
    CsvImportOptions o;
    o.fill = c.fill;
    ImportReport report;
    absl::StatusOr<Trace> t = Import(text, o, &report);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_THAT(t->demand, Pointwise(NanSensitiveDoubleEq(), c.want))
        << "fill " << static_cast<int>(c.fill);
    EXPECT_EQ(report.missing, 4u);  // counted before filling, whatever the fill
    EXPECT_EQ(report.gaps, 3u);
  }
}

TEST(CsvImport, ManyGapsAreSummarised) {
  std::string text = "ts,v\n";
  for (int i = 0; i < 14; ++i) text += std::to_string(i * 120) + ",1\n";
  ImportReport report;
  absl::StatusOr<Trace> t = Import(text, WithStep(60), &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->demand.size(), 27u);
  EXPECT_EQ(report.gaps, 13u);
  EXPECT_EQ(report.missing, 13u);
  ASSERT_EQ(report.warnings.size(), 12u);
  EXPECT_EQ(report.warnings[10], "... 3 more gaps");
}

TEST(CsvImport, MissingValueReadingsBecomeGaps) {
  CsvImportOptions o;
  o.missing_values = {-1, 101};
  ImportReport report;
  absl::StatusOr<Trace> t = Import("ts,cpu\n0,10\n60,-1\n120,101\n180,40\n", o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand,
              Pointwise(NanSensitiveDoubleEq(), std::vector<double>{10, kNaN, kNaN, 40}));
  EXPECT_EQ(report.missing, 2u);
  EXPECT_EQ(report.gaps, 1u);
  EXPECT_THAT(t->provenance, HasSubstr("missing=-1,101"));
}

TEST(CsvImport, ScaleMultipliesEveryValue) {
  CsvImportOptions o;
  o.scale = 1000;
  absl::StatusOr<Trace> t = Import("ts,krps\n0,1.5\n60,2\n", o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->demand, ElementsAre(1500, 2000));
  EXPECT_THAT(t->provenance, HasSubstr("scale=1000"));
}

// --- Files -----------------------------------------------------------------

TEST(CsvImport, MissingFileIsNotFound) {
  absl::StatusOr<Trace> t = ImportCsvFile("/nonexistent/demand.csv", {}, nullptr);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(t.status()), "/nonexistent/demand.csv: cannot read: No such file or directory");
}

TEST(CsvImport, FileErrorsNameThePath) {
  const std::string path = test_util::TempPath("csv_import_test", ".csv").string();
  test_util::WriteBytes(path, "time,rps\n0,1\n60,oops\n");
  absl::StatusOr<Trace> t = ImportCsvFile(path, {}, nullptr);
  fs::remove(path);
  EXPECT_EQ(Msg(t.status()), path + ":3:4: expected a number in column 'rps', got 'oops'");
}

// The shared real traces (../shared/datasets, see its README): no time column,
// one row every 300 s. A user's clone may not have them. CTest passes the
// repository root in MESHTWIN_SOURCE_DIR; run by hand, this file's own path
// (absolute in CMake builds) leads there too.
std::string SharedDataset(const std::string& relative) {
  const char* env = std::getenv("MESHTWIN_SOURCE_DIR");
  const fs::path root =
      env != nullptr ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path();
  if (root.empty()) return "";
  const fs::path path = root / ".." / "shared" / "datasets" / relative;
  return fs::exists(path) ? path.string() : "";
}

double MeanOf(const std::vector<double>& v) {
  double sum = 0;
  std::size_t n = 0;
  for (double x : v) {
    if (std::isnan(x)) continue;
    sum += x;
    ++n;
  }
  return n == 0 ? kNaN : sum / static_cast<double>(n);
}

TEST(CsvImportRealData, Google2019Month) {
  const std::string path = SharedDataset("google2019/instance_usage_grouped_300_seconds_month.csv");
  if (path.empty()) GTEST_SKIP() << "../shared/datasets/google2019 is not present";
  CsvImportOptions o;
  o.no_time_col = true;
  o.step = 300;
  ImportReport report;
  absl::StatusOr<Trace> t = ImportCsvFile(path, o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(report.rows, 8064u);
  EXPECT_EQ(t->demand.size(), 8064u);
  EXPECT_EQ(report.missing, 0u);
  EXPECT_EQ(t->end(), 28 * 86400);  // 28 days
  ASSERT_EQ(t->channels.size(), 4u);
  EXPECT_EQ(t->channels[0].name, "avg_cpu");
  EXPECT_EQ(t->channels[3].name, "avg_cycles_per_instruction");
  // avg_cpu is a cell-wide fraction of the requested CPU: about 0.47.
  EXPECT_NEAR(MeanOf(t->demand), 0.473, 0.01);
}

TEST(CsvImportRealData, Alibaba2018EightDays) {
  const std::string path =
      SharedDataset("alibaba2018/machine_usage_days_1_to_8_grouped_300_seconds.csv");
  if (path.empty()) GTEST_SKIP() << "../shared/datasets/alibaba2018 is not present";
  CsvImportOptions o;
  o.no_time_col = true;
  o.step = 300;
  o.value_cols = {"cpu_util_percent"};
  o.missing_values = {-1, 101};  // the trace's invalid readings (README)
  ImportReport report;
  absl::StatusOr<Trace> t = ImportCsvFile(path, o, &report);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(report.rows, 2243u);
  EXPECT_EQ(t->demand.size(), 2243u);
  const double mean = MeanOf(t->demand);
  EXPECT_GT(mean, 30);  // percent of the datacenter's CPU: about 40
  EXPECT_LT(mean, 50);
}

}  // namespace
}  // namespace meshtwin
