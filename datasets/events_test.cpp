#include "datasets/events.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "datasets/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace meshtwin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr double kNoon = 1709294400;  // 2024-03-01T12:00:00Z
constexpr const char* kHeader = "start,end,announced,source,category,magnitude,text\n";

std::string Message(const absl::Status& s) { return ErrorText(s); }

TEST(ParseEventsCsv, ReadsEveryTimeFormat) {
  const std::string csv = std::string(kHeader) +
                          "2024-03-01T12:00:00Z,,,feed,launch,2,iso with zone\n"
                          "2024-03-01T14:00:00+02:00,,,feed,launch,2,iso with offset\n"
                          "2024-03-01 12:00,,,feed,launch,2,date and minutes\n"
                          "2024-03-01T12:00:00.500,,,feed,launch,2,fraction\n"
                          "2024-03-01,,,feed,launch,2,bare date\n";
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(csv, "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 5u);
  EXPECT_DOUBLE_EQ((*events)[0].start, kNoon);
  EXPECT_DOUBLE_EQ((*events)[1].start, kNoon);
  EXPECT_DOUBLE_EQ((*events)[2].start, kNoon);
  EXPECT_DOUBLE_EQ((*events)[3].start, kNoon + 0.5);
  EXPECT_DOUBLE_EQ((*events)[4].start, kNoon - 12 * 3600);

  // Unix seconds and milliseconds, each in its own file (a column locks onto
  // one format).
  absl::StatusOr<std::vector<Event>> secs =
      ParseEventsCsv(std::string(kHeader) + "1709294400,1709298000,1709290800,s,c,1,t\n", "s.csv");
  ASSERT_TRUE(secs.ok()) << secs.status();
  EXPECT_DOUBLE_EQ((*secs)[0].start, kNoon);
  EXPECT_DOUBLE_EQ((*secs)[0].end, kNoon + 3600);
  EXPECT_DOUBLE_EQ((*secs)[0].announced, kNoon - 3600);
  absl::StatusOr<std::vector<Event>> ms =
      ParseEventsCsv(std::string(kHeader) + "1709294400000,1709294460500,,s,c,1,t\n", "ms.csv");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_DOUBLE_EQ((*ms)[0].start, kNoon);
  EXPECT_DOUBLE_EQ((*ms)[0].end, kNoon + 60.5);
}

TEST(ParseEventsCsv, ReadsAllFieldsInAnyColumnOrder) {
  const std::string csv =
      "text,magnitude,category,source,announced,end,start\n"
      "\"Launch, with \"\"quotes\"\" and a comma\",3.5,launch,news-feed,2024-03-01 10:00,"
      "2024-03-01 14:00,2024-03-01 12:00\n";
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(csv, "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const Event& e = (*events)[0];
  EXPECT_DOUBLE_EQ(e.start, kNoon);
  EXPECT_DOUBLE_EQ(e.end, kNoon + 7200);
  EXPECT_DOUBLE_EQ(e.announced, kNoon - 7200);
  EXPECT_EQ(e.source, "news-feed");
  EXPECT_EQ(e.category, "launch");
  EXPECT_DOUBLE_EQ(e.magnitude, 3.5);
  EXPECT_EQ(e.text, "Launch, with \"quotes\" and a comma");
}

TEST(ParseEventsCsv, InstantEventsAndDefaults) {
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(
      std::string(kHeader) + "2024-03-01 12:00,,,,,,\n2024-03-01 13:00, , , a , b , , c \n",
      "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  const Event& e = (*events)[0];
  EXPECT_TRUE(std::isnan(e.end));        // instant
  EXPECT_DOUBLE_EQ(e.announced, kNoon);  // defaults to start
  EXPECT_DOUBLE_EQ(e.magnitude, 0);
  EXPECT_EQ(e.source, "");
  EXPECT_EQ(e.text, "");
  // Unquoted fields are trimmed.
  EXPECT_EQ((*events)[1].source, "a");
  EXPECT_EQ((*events)[1].category, "b");
  EXPECT_EQ((*events)[1].text, "c");
  EXPECT_DOUBLE_EQ((*events)[1].announced, kNoon + 3600);
}

TEST(ParseEventsCsv, AnnouncedAfterStartIsAllowed) {
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(
      std::string(kHeader) +
          "2024-03-01 12:00,,2024-03-01 12:30,ops,social,4,flash crowd noticed late\n",
      "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_DOUBLE_EQ((*events)[0].announced, kNoon + 1800);
}

TEST(ParseEventsCsv, QuotedNewlinesBomAndCrlf) {
  const std::string csv =
      "\xEF\xBB\xBF"
      "start,end,announced,source,category,magnitude,text\r\n"
      "2024-03-01 12:00,,,feed,news,1,\"two\r\nlines\"\r\n"
      "\r\n"
      "2024-03-01 13:00,,,feed,news,1,plain\r\n"
      "2024-03-01 14:00,,,feed,news,1, \"blank before the quote, kept\" \r\n"
      "2024-03-01 15:00,,,feed,news,1,\"last, no newline\"";
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(csv, "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[0].text, "two\nlines");
  EXPECT_EQ((*events)[1].text, "plain");
  EXPECT_EQ((*events)[2].text, "blank before the quote, kept");
  EXPECT_EQ((*events)[3].text, "last, no newline");
}

TEST(ParseEventsCsv, HeaderOnlyIsZeroEvents) {
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(kHeader, "e.csv");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->empty());
}

TEST(ParseEventsCsv, EndBeforeStartNamesFileAndLine) {
  // The bad row starts on line 4: line 2 holds a quoted newline.
  const std::string csv = std::string(kHeader) +
                          "2024-03-01 12:00,,,feed,news,1,\"a\nb\"\n"
                          "2024-03-01 12:00,2024-03-01 11:00,,feed,news,1,backwards\n";
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(csv, "events.csv");
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(events.status()),
            "events.csv:4: end: expected a time at or after start (2024-03-01T12:00:00Z), got "
            "2024-03-01T11:00:00Z ('2024-03-01 11:00')");
}

TEST(ParseEventsCsv, BadValuesNameFileLineAndField) {
  auto error = [](const std::string& rows) {
    return Message(ParseEventsCsv(std::string(kHeader) + rows, "e.csv").status());
  };
  EXPECT_EQ(error("yesterday,,,s,c,1,t\n"),
            "e.csv:2: start: expected a timestamp (ISO-8601, 'YYYY-MM-DD HH:MM[:SS]', unix "
            "seconds or milliseconds), got 'yesterday'");
  EXPECT_EQ(error(",,,s,c,1,t\n"), "e.csv:2: start: expected a timestamp, got an empty field");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,lots,t\n"),
            "e.csv:2: magnitude: expected a finite number, got 'lots'");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,inf,t\n"),
            "e.csv:2: magnitude: expected a finite number, got 'inf'");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,1\n"),
            "e.csv:2: expected 7 fields as in the header, got 6");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,1,t,extra\n"),
            "e.csv:2: expected 7 fields as in the header, got 8");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,1,\"never closed\n"),
            "e.csv:2: expected a closing quote for the field opened on this line, got the end "
            "of the file");
  EXPECT_EQ(error("2024-03-01 12:00,,,s,c,1,\"quoted\"tail\n"),
            "e.csv:2: expected ',' or the end of the line after a closing quote, got 't'");
  // A column that switches format half-way is a broken export.
  EXPECT_THAT(error("2024-03-01 12:00,,,s,c,1,t\n1709294400,,,s,c,1,t\n"),
              HasSubstr("e.csv:3: start: mixed timestamp formats"));
}

TEST(ParseEventsCsv, HeaderMustNameTheSevenColumns) {
  EXPECT_EQ(
      Message(ParseEventsCsv("start,end,announced,source,category,magnitude,text,url,id\n", "e.csv")
                  .status()),
      "e.csv:1: header: expected the columns "
      "start,end,announced,source,category,magnitude,text (in any order), got unknown "
      "columns 'url', 'id'");
  EXPECT_EQ(Message(ParseEventsCsv("start,end,source,category,text\n", "e.csv").status()),
            "e.csv:1: header: expected the columns "
            "start,end,announced,source,category,magnitude,text (in any order), got no columns "
            "'announced', 'magnitude'");
  EXPECT_EQ(
      Message(ParseEventsCsv("start,end,announced,source,category,magnitude,text,Start\n", "e.csv")
                  .status()),
      "e.csv:1: header: expected the columns "
      "start,end,announced,source,category,magnitude,text (in any order), got repeated "
      "column 'Start'");
  // A data row where the header should be.
  EXPECT_THAT(Message(ParseEventsCsv("2024-03-01 12:00,,,s,c,1,t\n", "e.csv").status()),
              HasSubstr("got unknown columns '2024-03-01 12:00', '', '', 's', 'c', '1', 't'; no "
                        "columns 'start'"));
}

TEST(ParseEventsCsv, RejectsEmptyAndBinaryFiles) {
  EXPECT_EQ(Message(ParseEventsCsv("", "e.csv").status()),
            "e.csv:1: expected the header start,end,announced,source,category,magnitude,text, got "
            "an empty file");
  EXPECT_EQ(Message(ParseEventsCsv(" \n\r\n", "e.csv").status()),
            "e.csv:1: expected the header start,end,announced,source,category,magnitude,text, got "
            "an empty file");
  const std::string garbage = std::string(kHeader) + std::string("PK\x03\x04\x00\x01", 6);
  absl::StatusOr<std::vector<Event>> events = ParseEventsCsv(garbage, "e.zip");
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(events.status()),
            "e.zip:2: expected a text file of events, got binary data (a NUL byte)");
}

TEST(ParseEventsJsonl, ReadsFieldsDefaultsAndTimeFormats) {
  const std::string jsonl =
      "{\"start\": \"2024-03-01T12:00:00Z\", \"end\": \"2024-03-01T13:00:00Z\", "
      "\"announced\": \"2024-02-28\", \"source\": \"news\", \"category\": \"launch\", "
      "\"magnitude\": 2.5, \"text\": \"Keynote, live\"}\n"
      "\n"
      "{\"start\": \"2024-03-01 12:30\", \"end\": null}\n"
      "{\"start\": \"2024-03-01 12:45\", \"end\": \"\", \"magnitude\": \"1.5\"}\r\n";
  absl::StatusOr<std::vector<Event>> events = ParseEventsJsonl(jsonl, "e.jsonl");
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  const Event& a = (*events)[0];
  EXPECT_DOUBLE_EQ(a.start, kNoon);
  EXPECT_DOUBLE_EQ(a.end, kNoon + 3600);
  EXPECT_DOUBLE_EQ(a.announced, kNoon - 60 * 3600);  // 2024-02-28T00:00Z
  EXPECT_EQ(a.source, "news");
  EXPECT_EQ(a.category, "launch");
  EXPECT_DOUBLE_EQ(a.magnitude, 2.5);
  EXPECT_EQ(a.text, "Keynote, live");
  const Event& b = (*events)[1];
  EXPECT_DOUBLE_EQ(b.start, kNoon + 1800);
  EXPECT_TRUE(std::isnan(b.end));
  EXPECT_DOUBLE_EQ(b.announced, kNoon + 1800);
  EXPECT_DOUBLE_EQ(b.magnitude, 0);
  EXPECT_TRUE(std::isnan((*events)[2].end));
  EXPECT_DOUBLE_EQ((*events)[2].magnitude, 1.5);

  // Numbers are unix seconds, or milliseconds from 1e11 on.
  absl::StatusOr<std::vector<Event>> numeric = ParseEventsJsonl(
      "{\"start\": 1709294400, \"end\": 1709294460.5}\n{\"start\": 1709294520}\n", "n.jsonl");
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_DOUBLE_EQ((*numeric)[0].start, kNoon);
  EXPECT_DOUBLE_EQ((*numeric)[0].end, kNoon + 60.5);
  EXPECT_DOUBLE_EQ((*numeric)[1].start, kNoon + 120);
  absl::StatusOr<std::vector<Event>> millis =
      ParseEventsJsonl("{\"start\": 1709294400000, \"announced\": 1709294399000}\n", "m.jsonl");
  ASSERT_TRUE(millis.ok()) << millis.status();
  EXPECT_DOUBLE_EQ((*millis)[0].start, kNoon);
  EXPECT_DOUBLE_EQ((*millis)[0].announced, kNoon - 1);
}

TEST(ParseEventsJsonl, BrokenLinesNameFileAndLine) {
  auto error = [](const std::string& text) {
    return Message(ParseEventsJsonl(text, "e.jsonl").status());
  };
  EXPECT_THAT(error("{\"start\": 1709294400}\n{\"start\": 1709294400\n"),
              HasSubstr("e.jsonl:2: expected a JSON object, got invalid JSON ("));
  EXPECT_EQ(error("{\"start\": 1709294400}\n[1, 2]\n"),
            "e.jsonl:2: expected a JSON object, got an array");
  EXPECT_EQ(error("\n{\"text\": \"no start\"}\n"),
            "e.jsonl:2: start: expected a timestamp, got no \"start\" key");
  EXPECT_EQ(error("{\"start\": null}\n"), "e.jsonl:1: start: expected a timestamp, got null");
  EXPECT_EQ(error("{\"start\": true}\n"),
            "e.jsonl:1: start: expected a timestamp (a string or a number), got true");
  EXPECT_EQ(error("{\"start\": 1709294400, \"anounced\": 1709290000}\n"),
            "e.jsonl:1: expected only the keys start,end,announced,source,category,magnitude,text"
            ", got unknown key 'anounced'");
  EXPECT_EQ(error("{\"start\": 1709294400, \"end\": 1709294000}\n"),
            "e.jsonl:1: end: expected a time at or after start (2024-03-01T12:00:00Z), got "
            "2024-03-01T11:53:20Z ('1709294000')");
  EXPECT_EQ(error("{\"start\": 1709294400, \"magnitude\": \"big\"}\n"),
            "e.jsonl:1: magnitude: expected a finite number, got 'big'");
  EXPECT_EQ(error("{\"start\": 1709294400, \"text\": 5}\n"),
            "e.jsonl:1: text: expected a string, got 5");
  EXPECT_THAT(error("{\"start\": \"2024-03-01 12:00\"}\n{\"start\": 1709294400}\n"),
              HasSubstr("e.jsonl:2: start: mixed timestamp formats"));
  EXPECT_EQ(error(""), "e.jsonl:1: expected JSON lines of events, got an empty file");
  EXPECT_EQ(error(std::string("{\"start\": 1}\n\x00", 14)),
            "e.jsonl:2: expected a text file of events, got binary data (a NUL byte)");
}

TEST(AttachEvents, ConvertsToTraceTimeAndSortsByStart) {
  Trace trace;
  trace.epoch = kNoon;
  Event existing;
  existing.start = 600;
  existing.announced = 600;
  existing.text = "already there";
  trace.events.push_back(existing);

  std::vector<Event> absolute(2);
  absolute[0].start = kNoon + 1200;
  absolute[0].end = kNoon + 1800;
  absolute[0].announced = kNoon - 60;
  absolute[0].text = "later";
  absolute[1].start = kNoon + 60;
  absolute[1].announced = kNoon + 60;
  absolute[1].text = "instant";
  AttachEvents(trace, absolute);

  ASSERT_EQ(trace.events.size(), 3u);
  EXPECT_EQ(trace.events[0].text, "instant");
  EXPECT_DOUBLE_EQ(trace.events[0].start, 60);
  EXPECT_TRUE(std::isnan(trace.events[0].end));
  EXPECT_EQ(trace.events[1].text, "already there");
  EXPECT_EQ(trace.events[2].text, "later");
  EXPECT_DOUBLE_EQ(trace.events[2].start, 1200);
  EXPECT_DOUBLE_EQ(trace.events[2].end, 1800);
  EXPECT_DOUBLE_EQ(trace.events[2].announced, -60);
}

TEST(EventsToCsv, QuotesOnlyWhatNeedsIt) {
  Event e;
  e.start = kNoon;
  e.announced = kNoon - 86400;
  e.source = "feed";
  e.category = "sale";
  e.magnitude = 1.25;
  e.text = "Deals, \"doorbusters\"\nand more";
  Event f;
  f.start = kNoon + 0.5;
  f.end = kNoon + 3600;
  f.announced = kNoon + 0.5;
  f.text = " padded ";
  EXPECT_EQ(EventsToCsv({e, f}),
            "start,end,announced,source,category,magnitude,text\n"
            "2024-03-01T12:00:00Z,,2024-02-29T12:00:00Z,feed,sale,1.25,"
            "\"Deals, \"\"doorbusters\"\"\nand more\"\n"
            "2024-03-01T12:00:00.500Z,2024-03-01T13:00:00Z,2024-03-01T12:00:00.500Z,,,0,"
            "\" padded \"\n");
}

class EventsFileTest : public test_util::TempDirTest {
 protected:
  EventsFileTest() : TempDirTest("events_test") {}
  void Write(const std::string& name, const std::string& text) const {
    test_util::WriteBytes(Path(name), text);
  }
};

TEST_F(EventsFileTest, WriteThenReadRoundTrips) {
  std::vector<Event> events(3);
  events[0].start = kNoon;
  events[0].end = kNoon + 3600;
  events[0].announced = kNoon - 7 * 86400;
  events[0].source = "scenario";
  events[0].category = "launch";
  events[0].magnitude = 3;
  events[0].text = "Apple keynote, \"one more thing\"\nsecond line";
  events[1].start = kNoon + 7200;
  events[1].announced = kNoon + 7300;
  events[1].source = "news-feed";
  events[1].magnitude = -0.125;
  events[1].text = "café ☕ crowd";
  events[2].start = kNoon + 10000.25;
  events[2].announced = kNoon + 10000.25;

  const std::string path = Path("events.csv");
  ASSERT_TRUE(WriteEventsCsv(path, events).ok());
  EXPECT_EQ(std::vector<std::string>{"events.csv"}, Listing());  // no temporary left behind
  absl::StatusOr<std::vector<Event>> back = ReadEventsFile(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    SCOPED_TRACE(i);
    const Event& a = events[i];
    const Event& b = (*back)[i];
    EXPECT_DOUBLE_EQ(b.start, a.start);
    EXPECT_EQ(std::isnan(b.end), std::isnan(a.end));
    if (!std::isnan(a.end)) {
      EXPECT_DOUBLE_EQ(b.end, a.end);
    }
    EXPECT_DOUBLE_EQ(b.announced, a.announced);
    EXPECT_EQ(b.source, a.source);
    EXPECT_EQ(b.category, a.category);
    EXPECT_DOUBLE_EQ(b.magnitude, a.magnitude);
    EXPECT_EQ(b.text, a.text);
  }
}

TEST_F(EventsFileTest, ReadDispatchesOnContent) {
  Write("feed.txt", "\xEF\xBB\xBF\n  {\"start\": \"2024-03-01 12:00\", \"text\": \"json\"}\n");
  absl::StatusOr<std::vector<Event>> json = ReadEventsFile(Path("feed.txt"));
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_EQ(json->size(), 1u);
  EXPECT_EQ((*json)[0].text, "json");

  Write("feed.csv", std::string(kHeader) + "2024-03-01 12:00,,,,,,csv\n");
  absl::StatusOr<std::vector<Event>> csv = ReadEventsFile(Path("feed.csv"));
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_EQ((*csv)[0].text, "csv");

  Write("bad.jsonl", "{\"start\": 1709294400}\nnot json\n");
  EXPECT_THAT(Message(ReadEventsFile(Path("bad.jsonl")).status()),
              HasSubstr(Path("bad.jsonl") + ":2: expected a JSON object, got invalid JSON"));
}

TEST_F(EventsFileTest, MissingFilesAndDirectories) {
  absl::StatusOr<std::vector<Event>> missing = ReadEventsFile(Path("nope.csv"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(missing.status()), Path("nope.csv") + ": no such file");

  const absl::Status no_dir = WriteEventsCsv(Path("no/such/dir/e.csv"), {});
  EXPECT_EQ(no_dir.code(), absl::StatusCode::kNotFound);

  Event bad;
  bad.start = kNoon;
  bad.end = kNoon - 1;
  bad.announced = kNoon;
  const absl::Status backwards = WriteEventsCsv(Path("e.csv"), {bad});
  EXPECT_EQ(backwards.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("e.csv")));
}

}  // namespace
}  // namespace meshtwin
