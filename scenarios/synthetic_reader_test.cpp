// Tests of reading `trace.synthetic`: every key lands in its DiurnalParams
// field, and bad values are refused with FILE:LINE:COL and the key path.
#include "scenarios/synthetic_reader.h"

#include <yaml-cpp/yaml.h>

#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenarios/scenario.h"

namespace meshtwin {
namespace {

using scenario_yaml::Item;
using scenario_yaml::Reporter;
using ::testing::HasSubstr;
using ::testing::Not;

// Reads `yaml` (the body of a trace.synthetic section) as if it were the
// section of "s.yaml" at line 1, column 1.
absl::StatusOr<DiurnalParams> Read(const std::string& yaml) {
  const YAML::Node root = YAML::Load(yaml);
  const Reporter reporter("s.yaml", {});
  DiurnalParams params;
  MESHTWIN_RETURN_IF_ERROR(
      ReadSynthetic(reporter, Item{root, "trace.synthetic", root.Mark()}, &params));
  return params;
}

TEST(SyntheticReaderTest, EmptySectionKeepsEveryDefault) {
  absl::StatusOr<DiurnalParams> p = Read("{}");
  ASSERT_TRUE(p.ok()) << p.status();
  const DiurnalParams defaults;
  EXPECT_EQ(p->base_rps, defaults.base_rps);
  EXPECT_EQ(p->epoch, defaults.epoch);
  EXPECT_EQ(p->utc_offset_hours, 0);
  EXPECT_EQ(p->shape, DailyShape::kCosine);
  EXPECT_EQ(p->trend_per_day, 0);
  EXPECT_TRUE(p->spikes.empty());
  EXPECT_TRUE(p->recurring.empty());
  EXPECT_TRUE(p->roles.empty());
}

TEST(SyntheticReaderTest, CalendarShapeAndTrendKeys) {
  absl::StatusOr<DiurnalParams> p = Read(
      "epoch: 2024-11-29T05:00:00Z\n"
      "utc_offset_hours: -5\n"
      "shape: business-hours\n"
      "business: {open_hour: 9.5, close_hour: 16, transition_hours: 0.5, lunch_hour: 12,\n"
      "           lunch_width_hours: 1, lunch_dip: 0.15}\n"
      "trend_per_day: 0.004\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_DOUBLE_EQ(p->epoch, 1732856400);  // 2024-11-29T00:00 at UTC-5
  EXPECT_DOUBLE_EQ(p->utc_offset_hours, -5);
  EXPECT_EQ(p->shape, DailyShape::kBusinessHours);
  EXPECT_DOUBLE_EQ(p->business.open_hour, 9.5);
  EXPECT_DOUBLE_EQ(p->business.close_hour, 16);
  EXPECT_DOUBLE_EQ(p->business.transition_hours, 0.5);
  EXPECT_DOUBLE_EQ(p->business.lunch_hour, 12);
  EXPECT_DOUBLE_EQ(p->business.lunch_width_hours, 1);
  EXPECT_DOUBLE_EQ(p->business.lunch_dip, 0.15);
  EXPECT_DOUBLE_EQ(p->trend_per_day, 0.004);

  absl::StatusOr<DiurnalParams> cosine = Read("shape: cosine\nepoch: 1704067200\n");
  ASSERT_TRUE(cosine.ok()) << cosine.status();
  EXPECT_EQ(cosine->shape, DailyShape::kCosine);
  EXPECT_DOUBLE_EQ(cosine->epoch, 1704067200);
}

TEST(SyntheticReaderTest, BusinessKeysAbsentKeepTheirDefaults) {
  absl::StatusOr<DiurnalParams> p = Read("shape: business-hours\nbusiness: {close_hour: 18}\n");
  ASSERT_TRUE(p.ok()) << p.status();
  const BusinessHoursParams defaults;
  EXPECT_DOUBLE_EQ(p->business.open_hour, defaults.open_hour);
  EXPECT_DOUBLE_EQ(p->business.close_hour, 18);
  EXPECT_DOUBLE_EQ(p->business.lunch_dip, defaults.lunch_dip);
}

TEST(SyntheticReaderTest, SpikeKeysIncludingBaselineLeadTimeAndRole) {
  absl::StatusOr<DiurnalParams> p = Read(
      "roles:\n"
      "  - {name: web, share: 0.7, daily_amplitude: 0.6, peak_hour: 14, weekend_factor: 0.8}\n"
      "  - {name: batch, share: 0.3}\n"
      "spikes:\n"
      "  - start: 16h\n"
      "    lead_time: 32h\n"
      "    ramp: 15m\n"
      "    hold: 2h\n"
      "    decay: 1d\n"
      "    magnitude: 4\n"
      "    baseline_after: 1.3\n"
      "    category: launch\n"
      "    text: Launch\n"
      "    role: web\n"
      "  - {start: 1h, announced: 30m}\n");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->spikes.size(), 2u);
  const SpikeParams& s = p->spikes[0];
  EXPECT_DOUBLE_EQ(s.start, 16 * 3600);
  EXPECT_DOUBLE_EQ(s.lead_time, 32 * 3600);
  EXPECT_DOUBLE_EQ(s.announced, -1);
  EXPECT_DOUBLE_EQ(s.ramp, 900);
  EXPECT_DOUBLE_EQ(s.hold, 7200);
  EXPECT_DOUBLE_EQ(s.decay, 86400);
  EXPECT_DOUBLE_EQ(s.magnitude, 4);
  EXPECT_DOUBLE_EQ(s.baseline_after, 1.3);
  EXPECT_EQ(s.category, "launch");
  EXPECT_EQ(s.text, "Launch");
  EXPECT_EQ(s.role, "web");
  // Absent: the SpikeParams defaults (announced keeps its own key).
  EXPECT_DOUBLE_EQ(p->spikes[1].announced, 1800);
  EXPECT_DOUBLE_EQ(p->spikes[1].lead_time, -1);
  EXPECT_DOUBLE_EQ(p->spikes[1].baseline_after, 1);
  EXPECT_EQ(p->spikes[1].role, "");

  ASSERT_EQ(p->roles.size(), 2u);
  EXPECT_EQ(p->roles[0].name, "web");
  EXPECT_DOUBLE_EQ(p->roles[0].share, 0.7);
  EXPECT_DOUBLE_EQ(p->roles[0].daily_amplitude, 0.6);
  EXPECT_DOUBLE_EQ(p->roles[0].peak_hour, 14);
  EXPECT_DOUBLE_EQ(p->roles[0].weekend_factor, 0.8);
  const RoleParams role_defaults;
  EXPECT_EQ(p->roles[1].name, "batch");
  EXPECT_DOUBLE_EQ(p->roles[1].share, 0.3);
  EXPECT_DOUBLE_EQ(p->roles[1].daily_amplitude, role_defaults.daily_amplitude);
  EXPECT_DOUBLE_EQ(p->roles[1].peak_hour, role_defaults.peak_hour);
  EXPECT_DOUBLE_EQ(p->roles[1].weekend_factor, role_defaults.weekend_factor);
}

TEST(SyntheticReaderTest, SpikeRoleIsFreeWithoutRoles) {
  // The generator ignores a spike's role without roles, so that
  // --set trace.synthetic.roles=[] works on a scenario whose spikes name one.
  absl::StatusOr<DiurnalParams> p = Read("spikes: [{start: 1h, role: web}]\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->spikes[0].role, "web");
}

TEST(SyntheticReaderTest, RecurringKeys) {
  absl::StatusOr<DiurnalParams> p = Read(
      "roles: [{name: trading}, {name: back-office}]\n"
      "recurring:\n"
      "  - local_hour: 9.5\n"
      "    weekdays: [mon, Wednesday, fri]\n"
      "    ramp: 5m\n"
      "    hold: 10m\n"
      "    decay: 15m\n"
      "    magnitude: 3\n"
      "    magnitude_jitter: 0.2\n"
      "    lead_time: 7d\n"
      "    category: market\n"
      "    text: Market open\n"
      "    role: trading\n"
      "  - {weekdays: weekdays}\n"
      "  - {weekdays: weekends}\n"
      "  - {weekdays: every day}\n"
      "  - {weekdays: sun}\n"
      "  - {}\n");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->recurring.size(), 6u);
  const RecurringSpikeParams& r = p->recurring[0];
  EXPECT_DOUBLE_EQ(r.local_hour, 9.5);
  EXPECT_EQ(r.weekdays, 0x1u | 0x4u | 0x10u);
  EXPECT_DOUBLE_EQ(r.ramp, 300);
  EXPECT_DOUBLE_EQ(r.hold, 600);
  EXPECT_DOUBLE_EQ(r.decay, 900);
  EXPECT_DOUBLE_EQ(r.magnitude, 3);
  EXPECT_DOUBLE_EQ(r.magnitude_jitter, 0.2);
  EXPECT_DOUBLE_EQ(r.lead_time, 7 * 86400);
  EXPECT_EQ(r.category, "market");
  EXPECT_EQ(r.text, "Market open");
  EXPECT_EQ(r.role, "trading");
  EXPECT_EQ(p->recurring[1].weekdays, 0x1Fu);
  EXPECT_EQ(p->recurring[2].weekdays, 0x60u);
  EXPECT_EQ(p->recurring[3].weekdays, 0x7Fu);
  EXPECT_EQ(p->recurring[4].weekdays, 0x40u);
  const RecurringSpikeParams defaults;
  EXPECT_EQ(p->recurring[5].weekdays, defaults.weekdays);
  EXPECT_DOUBLE_EQ(p->recurring[5].local_hour, defaults.local_hour);
  EXPECT_EQ(p->recurring[5].category, defaults.category);
}

TEST(SyntheticReaderTest, ParsedParametersDriveTheGenerator) {
  // A market that opens at 09:30 UTC-5 on weekdays only: the Monday open
  // (14:30 UTC) is a spike, the Saturday one does not exist.
  absl::StatusOr<DiurnalParams> p = Read(
      "base_rps: 1000\ndaily_amplitude: 0\nnoise: 0\nutc_offset_hours: -5\n"
      "recurring: [{local_hour: 9.5, weekdays: weekdays, ramp: 0s, hold: 10m, decay: 0s,"
      " magnitude: 3, lead_time: 1h}]\n");
  ASSERT_TRUE(p.ok()) << p.status();
  const Trace t = GenerateDiurnal(*p, 7 * 86400, 1);
  auto at = [&t](double seconds) { return t.demand[static_cast<std::size_t>(seconds / 60)]; };
  EXPECT_NEAR(at(14.5 * 3600 + 120), 3000, 1e-6);              // Monday 14:32 UTC
  EXPECT_NEAR(at(14.5 * 3600 - 120), 1000, 1e-6);              // before the open
  EXPECT_NEAR(at(5 * 86400 + 14.5 * 3600 + 120), 1000, 1e-6);  // Saturday
  ASSERT_EQ(t.events.size(), 5u);
  EXPECT_DOUBLE_EQ(t.events[0].announced, t.events[0].start - 3600);
}

struct BadCase {
  std::string label;
  std::string yaml;
  std::vector<std::string> want;  // substrings of the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.label; }

class BadSyntheticTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadSyntheticTest, IsOneLocatedInvalidArgument) {
  const BadCase& c = GetParam();
  absl::StatusOr<DiurnalParams> p = Read(c.yaml);
  ASSERT_FALSE(p.ok()) << "accepted:\n" << c.yaml;
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(p.status().message());
  for (const std::string& want : c.want) EXPECT_THAT(message, HasSubstr(want));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
}

std::vector<BadCase> BadCases() {
  return {
      {"UnknownKeySuggestsTheRightOne",
       "base_rps: 10\nutc_ofset_hours: 3\n",
       {"s.yaml:2:1: trace.synthetic.utc_ofset_hours: expected one of", "utc_offset_hours",
        "did you mean utc_offset_hours?"}},
      {"BadEpoch", "epoch: next tuesday\n", {"s.yaml:1:8: trace.synthetic.epoch: "}},
      {"OffsetOutOfRange",
       "utc_offset_hours: -15\n",
       {"s.yaml:1:19: trace.synthetic.utc_offset_hours: expected a number in [-12, 14], got -15"}},
      {"UnknownShape",
       "shape: square\n",
       {"s.yaml:1:8: trace.synthetic.shape: expected cosine or business-hours, got square"}},
      {"BusinessWithoutBusinessShape",
       "business: {open_hour: 8}\n",
       {"s.yaml:1:1: trace.synthetic.business: expected only with shape: business-hours"}},
      {"CloseBeforeOpen",
       "shape: business-hours\nbusiness:\n  open_hour: 9\n  close_hour: 8\n",
       {"s.yaml:4:15: trace.synthetic.business.close_hour: expected an hour after open_hour (9), "
        "got 8"}},
      {"LunchDipAboveOne",
       "shape: business-hours\nbusiness: {lunch_dip: 1.5}\n",
       {"s.yaml:2:23: trace.synthetic.business.lunch_dip: expected a number in [0, 1], got 1.5"}},
      {"TrendAsPercent",
       "trend_per_day: 5\n",
       {"s.yaml:1:16: trace.synthetic.trend_per_day: expected a number in [-1, 1], got 5"}},
      {"NegativeBaselineAfter",
       "spikes:\n  - start: 1h\n    baseline_after: -1\n",
       {"s.yaml:3:21: trace.synthetic.spikes[0].baseline_after: expected a number >= 0, got -1"}},
      {"LeadTimeNotADuration",
       "spikes:\n  - start: 1h\n    lead_time: soon\n",
       {"s.yaml:3:16: trace.synthetic.spikes[0].lead_time: "}},
      {"AnnouncedAndLeadTime",
       "spikes:\n  - start: 2h\n    announced: 1h\n    lead_time: 1h\n",
       {"s.yaml:4:16: trace.synthetic.spikes[0].lead_time: expected either announced or "
        "lead_time, got both"}},
      {"SpikeRoleNotARole",
       "roles: [{name: web}, {name: batch}]\nspikes:\n  - {start: 1h, role: db}\n",
       {"s.yaml:3:23: trace.synthetic.spikes[0].role: expected a role of trace.synthetic.roles "
        "(web, batch), got db"}},
      {"RecurringRoleNotARole",
       "roles: [{name: web}]\nrecurring:\n  - role: batch\n",
       {"s.yaml:3:11: trace.synthetic.recurring[0].role: expected a role of "
        "trace.synthetic.roles (web), got batch"}},
      {"RecurringHourOutOfRange",
       "recurring:\n  - local_hour: 24\n",
       {"s.yaml:2:17: trace.synthetic.recurring[0].local_hour: expected a number in [0, 24), "
        "got 24"}},
      {"RecurringBadDayName",
       "recurring:\n  - weekdays: [mon, funday]\n",
       {"s.yaml:2:21: trace.synthetic.recurring[0].weekdays[1]: expected a day name (mon, tue, "
        "wed, thu, fri, sat, sun), got funday"}},
      {"RecurringDayTwice",
       "recurring:\n  - weekdays: [mon, tue, mon]\n",
       {"trace.synthetic.recurring[0].weekdays[2]: expected each day once, got mon a second "
        "time"}},
      {"RecurringNoDays",
       "recurring:\n  - weekdays: []\n",
       {"s.yaml:2:5: trace.synthetic.recurring[0].weekdays: expected at least one day name"}},
      {"RecurringBadWeekdaysWord",
       "recurring:\n  - weekdays: workdays\n",
       {"s.yaml:2:15: trace.synthetic.recurring[0].weekdays: expected weekdays, weekends, every "
        "day, a day name (mon ... sun) or a list of day names, got workdays"}},
      {"RecurringJitterAboveOne",
       "recurring:\n  - magnitude_jitter: 2\n",
       {"s.yaml:2:23: trace.synthetic.recurring[0].magnitude_jitter: expected a number in [0, "
        "1], got 2"}},
      {"RecurringUnknownKey",
       "recurring:\n  - start: 1h\n",
       {"s.yaml:2:5: trace.synthetic.recurring[0].start: expected one of local_hour, weekdays"}},
      {"RoleWithoutName",
       "roles:\n  - share: 0.5\n",
       {"trace.synthetic.roles[0].name: expected a role name such as web (required), got "
        "nothing"}},
      {"RoleNameWithDot",
       "roles:\n  - name: web.v2\n",
       {"s.yaml:2:11: trace.synthetic.roles[0].name: expected a name of letters, digits"}},
      {"RoleNameTwice",
       "roles:\n  - name: web\n  - name: web\n",
       {"s.yaml:3:11: trace.synthetic.roles[1].name: expected a unique role name, got web again "
        "(also trace.synthetic.roles[0])"}},
      {"RoleShareNegative",
       "roles:\n  - {name: web, share: -0.1}\n",
       {"s.yaml:2:24: trace.synthetic.roles[0].share: expected a number >= 0, got -0.1"}},
      {"RoleAmplitudeAboveOne",
       "roles:\n  - {name: web, daily_amplitude: 1.2}\n",
       {"trace.synthetic.roles[0].daily_amplitude: expected a number in [0, 1], got 1.2"}},
      {"RolePeakHourOutOfRange",
       "roles:\n  - {name: web, peak_hour: 25}\n",
       {"trace.synthetic.roles[0].peak_hour: expected a number in [0, 24), got 25"}},
      {"RolesNotAList",
       "roles: web\n",
       {"s.yaml:1:8: trace.synthetic.roles: expected a list of roles"}},
      {"TopLevelCycleWithRoles",
       "daily_amplitude: 0.3\nroles: [{name: web}]\n",
       {"s.yaml:1:18: trace.synthetic.daily_amplitude: expected no top-level daily cycle with "
        "roles"}},
      {"BusinessShapeWithRoles",
       "shape: business-hours\nroles: [{name: web}]\n",
       {"s.yaml:1:8: trace.synthetic.shape: expected cosine with roles"}},
  };
}

INSTANTIATE_TEST_SUITE_P(All, BadSyntheticTest, ::testing::ValuesIn(BadCases()),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           return param_info.param.label;
                         });

// Through ParseScenario: the new keys are reachable from a scenario file and
// from --set, and errors name the --set that caused them.
constexpr char kScenario[] =
    "name: t\n"
    "node_types:\n"
    "  - {name: web, min: 1, max: 10, initial: 2}\n"
    "trace:\n"
    "  synthetic:\n"
    "    roles: [{name: web, share: 0.6}, {name: batch, share: 0.4, peak_hour: 3}]\n"
    "    spikes:\n"
    "      - {start: 2h, lead_time: 1d, role: web, baseline_after: 1.2}\n";

TEST(SyntheticScenarioTest, NewKeysThroughAScenarioAndOverrides) {
  absl::StatusOr<Scenario> s =
      ParseScenario(kScenario, "t.yaml", {"trace.synthetic.utc_offset_hours=2"});
  ASSERT_TRUE(s.ok()) << s.status();
  const DiurnalParams& p = s->trace.synthetic;
  EXPECT_DOUBLE_EQ(p.utc_offset_hours, 2);
  ASSERT_EQ(p.roles.size(), 2u);
  EXPECT_DOUBLE_EQ(p.roles[1].peak_hour, 3);
  ASSERT_EQ(p.spikes.size(), 1u);
  EXPECT_DOUBLE_EQ(p.spikes[0].lead_time, 86400);
  EXPECT_EQ(p.spikes[0].role, "web");

  absl::StatusOr<Scenario> bad =
      ParseScenario(kScenario, "t.yaml", {"trace.synthetic.spikes.0.role=db"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("--set trace.synthetic.spikes.0.role: trace.synthetic.spikes[0].role: "
                        "expected a role of trace.synthetic.roles (web, batch), got db"));

  // Removing the roles the spike names is not what broke the spike.
  absl::StatusOr<Scenario> no_roles =
      ParseScenario(kScenario, "t.yaml", {"trace.synthetic.roles=[]"});
  EXPECT_TRUE(no_roles.ok()) << no_roles.status();

  absl::StatusOr<Scenario> bad_file =
      ParseScenario(std::string(kScenario) + "      - {start: 3h, role: cache}\n", "t.yaml", {});
  ASSERT_FALSE(bad_file.ok());
  EXPECT_THAT(std::string(bad_file.status().message()),
              HasSubstr("t.yaml:9:27: trace.synthetic.spikes[1].role: expected a role of"));
}

}  // namespace
}  // namespace meshtwin
