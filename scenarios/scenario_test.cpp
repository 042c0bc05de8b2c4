// Tests of scenario loading: the built-in default, validation errors (code,
// line and key path), --set overrides and reading files.
#include "scenarios/scenario.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scenarios/library.h"

namespace meshtwin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A valid scenario of seven lines; error cases append to it so their line
// numbers are easy to read off.
constexpr char kBase[] =
    "name: t\n"         // 1
    "node_types:\n"     // 2
    "  - name: web\n"   // 3
    "    cores: 4\n"    // 4
    "    initial: 2\n"  // 5
    "    min: 1\n"      // 6
    "    max: 10\n";    // 7

std::string Base(const std::string& more) { return kBase + more; }

TEST(DefaultScenarioTest, ParsesWithTheDocumentedValues) {
  absl::StatusOr<Scenario> s = ParseScenario(DefaultScenarioText(), "<default>", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "default");
  EXPECT_EQ(s->source, "<default>");
  EXPECT_EQ(s->text, DefaultScenarioText());
  EXPECT_TRUE(s->overrides.empty());
  EXPECT_THAT(s->description, HasSubstr("24 h of diurnal web load"));
  EXPECT_EQ(s->seed, 42u);
  EXPECT_DOUBLE_EQ(s->duration, 86400);
  EXPECT_DOUBLE_EQ(s->control_interval, 15);
  EXPECT_DOUBLE_EQ(s->platform.link_latency, 50e-6);
  EXPECT_DOUBLE_EQ(s->platform.link_bandwidth, 1.25e9);

  ASSERT_EQ(s->node_types.size(), 3u);
  int initial = 0;
  for (const NodeTypeSpec& t : s->node_types) initial += t.initial;
  EXPECT_EQ(initial, 48);
  const NodeTypeSpec& medium = s->node_types[1];
  EXPECT_EQ(medium.name, "medium");
  EXPECT_EQ(medium.cores, 8);
  EXPECT_DOUBLE_EQ(medium.core_speed, 2.5e9);
  EXPECT_DOUBLE_EQ(medium.memory_gb, 32);
  EXPECT_DOUBLE_EQ(medium.boot_time, 90);
  EXPECT_DOUBLE_EQ(medium.cost_per_hour, 0.34);
  EXPECT_EQ(medium.initial, 24);
  EXPECT_EQ(medium.min, 6);
  EXPECT_EQ(medium.max, 120);

  EXPECT_DOUBLE_EQ(s->workload.request_work, 1e8);
  EXPECT_DOUBLE_EQ(s->workload.queue_limit, 30);
  EXPECT_DOUBLE_EQ(s->slo.latency_target, 0.25);
  EXPECT_DOUBLE_EQ(s->slo.utilization_ceiling, 1.0);
  EXPECT_TRUE(s->slo.drops_violate);

  const DiurnalParams& trace = s->trace.synthetic;
  EXPECT_DOUBLE_EQ(trace.base_rps, 6000);
  EXPECT_DOUBLE_EQ(trace.daily_amplitude, 0.5);
  EXPECT_DOUBLE_EQ(trace.peak_hour, 14);
  EXPECT_DOUBLE_EQ(trace.noise, 0.03);
  EXPECT_DOUBLE_EQ(trace.step, 60);
  ASSERT_EQ(trace.spikes.size(), 1u);
  EXPECT_DOUBLE_EQ(trace.spikes[0].start, 72000);
  EXPECT_DOUBLE_EQ(trace.spikes[0].announced, 64800);
  EXPECT_DOUBLE_EQ(trace.spikes[0].ramp, 120);
  EXPECT_DOUBLE_EQ(trace.spikes[0].hold, 2700);
  EXPECT_DOUBLE_EQ(trace.spikes[0].decay, 1800);
  EXPECT_DOUBLE_EQ(trace.spikes[0].magnitude, 2.5);
  EXPECT_EQ(trace.spikes[0].category, "launch");
  EXPECT_EQ(trace.spikes[0].text, "Product launch announced for 20:00");

  EXPECT_EQ(s->policy, "hpa");
  EXPECT_EQ(s->hpa.node_type, 1);
  EXPECT_EQ(s->hpa.min_replicas, 6);
  EXPECT_EQ(s->hpa.max_replicas, 120);
  EXPECT_DOUBLE_EQ(s->hpa.target_utilization, 0.6);
  EXPECT_DOUBLE_EQ(s->hpa.tolerance, 0.1);
  EXPECT_DOUBLE_EQ(s->hpa.scale_up.stabilization_window, 0);
  EXPECT_EQ(s->hpa.scale_up.select, HpaScalingBehavior::Select::kMax);
  ASSERT_EQ(s->hpa.scale_up.rules.size(), 2u);
  EXPECT_EQ(s->hpa.scale_up.rules[0].type, HpaScalingRule::Type::kPods);
  EXPECT_EQ(s->hpa.scale_up.rules[0].value, 4);
  EXPECT_EQ(s->hpa.scale_up.rules[1].type, HpaScalingRule::Type::kPercent);
  EXPECT_EQ(s->hpa.scale_up.rules[1].value, 100);
  EXPECT_DOUBLE_EQ(s->hpa.scale_up.rules[1].period, 15);
  EXPECT_DOUBLE_EQ(s->hpa.scale_down.stabilization_window, 300);
  ASSERT_EQ(s->hpa.scale_down.rules.size(), 1u);
}

TEST(DefaultScenarioTest, FileOnDiskMatchesTheBuiltInText) {
  const char* root = std::getenv("MESHTWIN_SOURCE_DIR");
  if (root == nullptr) GTEST_SKIP() << "MESHTWIN_SOURCE_DIR not set";
  const std::string path = std::string(root) + "/scenarios/default.yaml";
  absl::StatusOr<Scenario> s = LoadScenarioFile(path, {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source, path);
  EXPECT_EQ(s->text, DefaultScenarioText());
}

TEST(ScenarioDefaultsTest, AbsentKeysTakeTheStructDefaults) {
  absl::StatusOr<Scenario> s = ParseScenario(kBase, "min.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  const Scenario defaults;
  const NodeTypeSpec type_defaults;
  const HpaOptions& hpa_defaults = defaults.hpa;
  EXPECT_EQ(s->seed, defaults.seed);
  EXPECT_DOUBLE_EQ(s->duration, defaults.duration);
  EXPECT_DOUBLE_EQ(s->control_interval, defaults.control_interval);
  EXPECT_DOUBLE_EQ(s->platform.link_bandwidth, defaults.platform.link_bandwidth);
  EXPECT_DOUBLE_EQ(s->node_types[0].core_speed, type_defaults.core_speed);
  EXPECT_DOUBLE_EQ(s->node_types[0].boot_time, type_defaults.boot_time);
  EXPECT_DOUBLE_EQ(s->workload.request_work, defaults.workload.request_work);
  EXPECT_DOUBLE_EQ(s->slo.latency_target, defaults.slo.latency_target);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.base_rps, defaults.trace.synthetic.base_rps);
  EXPECT_TRUE(s->trace.synthetic.spikes.empty());
  EXPECT_DOUBLE_EQ(s->hpa.target_utilization, hpa_defaults.target_utilization);
  EXPECT_EQ(s->hpa.scale_up.rules.size(), hpa_defaults.scale_up.rules.size());
  EXPECT_DOUBLE_EQ(s->hpa.scale_down.stabilization_window,
                   hpa_defaults.scale_down.stabilization_window);
  // The only type with min < max is the pool when policy.pool is absent.
  EXPECT_EQ(s->hpa.node_type, 0);
  EXPECT_EQ(s->hpa.min_replicas, 1);
  EXPECT_EQ(s->hpa.max_replicas, 10);
}

TEST(ScenarioDefaultsTest, UnannouncedSpikeAndEmptySections) {
  absl::StatusOr<Scenario> s = ParseScenario(Base("slo:\n"
                                                  "trace:\n"
                                                  "  synthetic:\n"
                                                  "    spikes:\n"
                                                  "      - start: 2h\n"
                                                  "      - start: 3h\n"
                                                  "        announced: ~\n"),
                                             "spikes.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->trace.synthetic.spikes.size(), 2u);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[0].start, 7200);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[0].announced, -1);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[1].announced, -1);
}

// ---------------------------------------------------------------------------
// Bad input: each case must give one InvalidArgumentError naming the place
// (file:line:col or --set KEY) and the key path.

struct BadCase {
  std::string label;
  std::string yaml;
  std::vector<std::string> overrides;
  std::vector<std::string> want;  // substrings of the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.label; }

class BadScenarioTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadScenarioTest, IsOneLocatedInvalidArgument) {
  const BadCase& c = GetParam();
  absl::StatusOr<Scenario> s = ParseScenario(c.yaml, "bad.yaml", c.overrides);
  ASSERT_FALSE(s.ok()) << "accepted:\n" << c.yaml;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(s.status().message());
  for (const std::string& want : c.want) EXPECT_THAT(message, HasSubstr(want));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
}

const char kTwoScalable[] =
    "name: t\n"
    "node_types:\n"
    "  - {name: a, min: 1, max: 5, initial: 1}\n"
    "  - {name: b, min: 1, max: 5, initial: 1}\n";

std::vector<BadCase> BadCases() {
  return {
      {"UnknownTopLevelKey",
       Base("node_tipes: []\n"),
       {},
       {"bad.yaml:8:1: node_tipes: expected one of name, description,", "got an unknown key",
        "did you mean node_types?"}},
      {"UnknownNestedKey",
       Base("policy:\n  scale_up:\n    selcet: min\n"),
       {},
       {"bad.yaml:10:5: policy.scale_up.selcet: expected one of stabilization_window, select, "
        "rules, got an unknown key"}},
      {"CoresNotAnInteger",
       "name: t\nnode_types:\n  - name: web\n    cores: four\n    min: 1\n    max: 2\n"
       "    initial: 1\n",
       {},
       {"bad.yaml:4:12: node_types[0].cores: expected an integer in [1, 4096], got four"}},
      {"CoresNegative",
       "name: t\nnode_types:\n  - name: a\n    min: 1\n    max: 2\n    initial: 1\n  - name: b\n"
       "    cores: -2\n",
       {},
       {"bad.yaml:8:12: node_types[1].cores: expected an integer in [1, 4096], got -2"}},
      {"CoresFractional",
       "name: t\nnode_types:\n  - {name: web, cores: 2.5, min: 1, max: 2}\n",
       {},
       {"bad.yaml:3:24: node_types[0].cores: expected an integer", "got 2.5"}},
      {"DuplicateTypeName",
       "name: t\nnode_types:\n  - {name: web, min: 1, max: 2, initial: 1}\n  - name: web\n",
       {},
       {"bad.yaml:4:11: node_types[1].name: expected a unique node type name, got web again "
        "(also node_types[0])"}},
      {"TypeNameWithDot",
       "name: t\nnode_types:\n  - name: web.v2\n",
       {},
       {"bad.yaml:3:11: node_types[0].name: expected a name of letters"}},
      {"TypeWithoutName",
       "name: t\nnode_types:\n  - cores: 4\n",
       {},
       {"bad.yaml:3:5: node_types[0].name: expected a node type name such as medium (required), "
        "got nothing"}},
      {"MinAboveMax",
       "name: t\nnode_types:\n  - name: web\n    min: 5\n    max: 3\n",
       {},
       {"bad.yaml:4:10: node_types[0].min: expected an integer <= max (3), got 5"}},
      {"InitialAboveMax",
       "name: t\nnode_types:\n  - name: web\n    initial: 20\n    max: 10\n",
       {},
       {"bad.yaml:4:14: node_types[0].initial: expected an integer in [min, max] = [0, 10], "
        "got 20"}},
      {"InitialAbsentBelowMin",
       "name: t\nnode_types:\n  - name: web\n    min: 2\n    max: 10\n",
       {},
       {"bad.yaml:3:5: node_types[0].initial: expected an integer in [min, max] = [2, 10], got 0 "
        "(the default; key absent)"}},
      {"MaxTooLarge",
       "name: t\nnode_types:\n  - name: web\n    max: 100001\n",
       {},
       {"bad.yaml:4:10: node_types[0].max: expected an integer in [0, 100000], got 100001"}},
      {"EmptyNodeTypes",
       "name: t\nnode_types: []\n",
       {},
       {"bad.yaml:2:1: node_types: expected a non-empty list of node types, got an empty list"}},
      {"NodeTypesNotAList",
       "name: t\nnode_types: web\n",
       {},
       {"bad.yaml:2:13: node_types: expected a non-empty list of node types, got web"}},
      {"MissingNodeTypes",
       "name: t\n",
       {},
       {"bad.yaml:1:1: node_types: expected a non-empty list of node types (required)"}},
      {"MissingName",
       "node_types:\n  - {name: web, min: 1, max: 2, initial: 1}\n",
       {},
       {"bad.yaml:1:1: name: expected a scenario name (required), got nothing"}},
      {"UnknownPool",
       Base("policy:\n  pool: huge\n"),
       {},
       {"bad.yaml:9:9: policy.pool: expected a node type name (web), got huge"}},
      {"AmbiguousPool",
       kTwoScalable,
       {},
       {"bad.yaml:1:1: policy.pool: expected the node type the HPA scales", "2 do: a, b"}},
      {"PoolThatCannotScaleFromZero",
       "name: t\nnode_types:\n  - {name: a, max: 5}\npolicy:\n  pool: a\n",
       {},
       {"bad.yaml:5:9: policy.pool: expected a node type with min >= 1"}},
      {"UnknownPolicy",
       Base("policy:\n  name: magic\n"),
       {},
       {"bad.yaml:9:9: policy.name: expected hpa, predictive, oracle or none, got magic"}},
      {"PredictiveWithoutForecast",
       Base("policy:\n  name: predictive\n"),
       {},
       {"bad.yaml:9:9: policy.name: expected a forecast: section for predictive"}},
      {"ClassSharesNotSummingToOne",
       Base("workload:\n  classes:\n    critical: {share: 0.5}\n    standard: {share: 0.2}\n"),
       {},
       {"bad.yaml:9:3: workload.classes: expected class shares that sum to 1, got a sum of 0.7"}},
      {"LowerClassWithLongerDeadline",
       Base("workload:\n  classes:\n    critical: {share: 0.5, deadline: 1s}\n"
            "    best_effort: {share: 0.5, deadline: 5s}\n"),
       {},
       {"bad.yaml:11:41: workload.classes.best_effort.deadline: expected a deadline <= critical's "
        "(1s; "
        "a lower class may not wait longer), got 5s"}},
      {"SingleRole",
       Base("roles:\n  - {name: web}\n"),
       {},
       {"bad.yaml:8:1: roles: expected at least two roles"}},
      {"DuplicateRole",
       Base("roles:\n  - {name: web}\n  - {name: web}\n"),
       {},
       {"roles[1].name: expected a unique role name, got web again"}},
      {"RoleAssignmentWithoutRoles",
       Base("policy:\n  roles: {min_dwell: 5m}\n"),
       {},
       {"policy.roles: expected at least two top-level roles"}},
      {"ShiftingCoolAboveHot",
       Base("policy:\n  shifting: {hot_queue: 1s, cool_queue: 2s}\n"),
       {},
       {"policy.shifting.cool_queue: expected a duration below hot_queue (1s), got 2s"}},
      {"PredictiveQuantileOutOfRange",
       Base("forecast:\n  model: naive\npolicy:\n  predictive: {quantile: 0.99}\n"),
       {},
       {"policy.predictive.quantile: expected a number in [0.1, 0.9], got 0.99"}},
      {"UnknownEventEffect",
       Base("forecast:\n  model: naive\n  event_effect: boost\n"),
       {},
       {"bad.yaml:10:17: forecast.event_effect: expected none or magnitude, got boost"}},
      {"UnknownVariant",
       Base("forecast:\n  model: gru\n  variant: huge\n"),
       {},
       {"bad.yaml:10:12: forecast.variant: expected auto, rich or lean, got huge"}},
      {"VariantOfABaseline",
       Base("forecast:\n  model: holt-winters\n  variant: lean\n"),
       {},
       {"bad.yaml:10:12: forecast.variant: expected no variant unless model is lstm or gru",
        "model is holt-winters"}},
      {"ControlIntervalZero",
       Base("control_interval: 0s\n"),
       {},
       {"bad.yaml:8:19: control_interval: expected a duration > 0s, got 0s"}},
      {"ControlIntervalAboveDuration",
       Base("duration: 1h\ncontrol_interval: 2h\n"),
       {},
       {"bad.yaml:9:19: control_interval: expected a duration <= duration (1h), got 2h"}},
      {"DurationTooLong",
       Base("duration: 401d\n"),
       {},
       {"bad.yaml:8:11: duration: expected a duration in (0s, 400d], got 401d"}},
      {"DurationSyntax",
       Base("duration: 5 minutes\n"),
       {},
       {"bad.yaml:8:11: duration: expected a duration >= 0 such as 15s", "got 5 minutes"}},
      {"NegativeRate",
       Base("trace:\n  synthetic:\n    base_rps: -5\n"),
       {},
       {"bad.yaml:10:15: trace.synthetic.base_rps: expected a number >= 0, got -5"}},
      {"AmplitudeAboveOne",
       Base("trace:\n  synthetic:\n    daily_amplitude: 1.5\n"),
       {},
       {"bad.yaml:10:22: trace.synthetic.daily_amplitude: expected a number in [0, 1], got 1.5"}},
      {"PeakHour24",
       Base("trace:\n  synthetic:\n    peak_hour: 24\n"),
       {},
       {"bad.yaml:10:16: trace.synthetic.peak_hour: expected a number in [0, 24), got 24"}},
      {"AnnouncedAfterStart",
       Base("trace:\n  synthetic:\n    spikes:\n      - start: 1h\n        announced: 2h\n"),
       {},
       {"bad.yaml:12:20: trace.synthetic.spikes[0].announced: expected a duration <= start (1h), "
        "got 2h"}},
      {"TargetUtilizationZero",
       Base("policy:\n  target_utilization: 0\n"),
       {},
       {"bad.yaml:9:23: policy.target_utilization: expected a number in (0, 1], got 0"}},
      {"TargetUtilizationAboveOne",
       Base("policy:\n  target_utilization: 1.5\n"),
       {},
       {"bad.yaml:9:23: policy.target_utilization: expected a number in (0, 1], got 1.5"}},
      {"TargetUtilizationNotAWholePercent",
       Base("policy:\n  target_utilization: 0.625\n"),
       {},
       {"bad.yaml:9:23: policy.target_utilization: expected a whole percentage such as 0.6 or "
        "0.75 (Kubernetes targets are integer percent), got 0.625"}},
      {"BadSelect",
       Base("policy:\n  scale_down:\n    select: most\n"),
       {},
       {"bad.yaml:10:13: policy.scale_down.select: expected max, min or disabled, got most"}},
      {"BadRuleType",
       Base("policy:\n  scale_up:\n    rules:\n      - {type: pods, value: 4}\n"
            "      - {type: nodes, value: 4, period: 15s}\n"),
       {},
       {"bad.yaml:12:16: policy.scale_up.rules[1].type: expected pods or percent, got nodes"}},
      {"NoRules",
       Base("policy:\n  scale_up:\n    rules: []\n"),
       {},
       {"bad.yaml:10:5: policy.scale_up.rules: expected at least one rule unless select is "
        "disabled"}},
      {"DropsViolateNotBool",
       Base("slo:\n  drops_violate: yes\n"),
       {},
       {"bad.yaml:9:18: slo.drops_violate: expected true or false, got yes"}},
      {"BandwidthWithoutBitsOrBytes",
       Base("platform:\n  link_bandwidth: 10G\n"),
       {},
       {"bad.yaml:9:19: platform.link_bandwidth: expected a bandwidth >= 0 such as 10Gbps",
        "got 10G"}},
      {"SectionNotAMapping",
       Base("platform: fast\n"),
       {},
       {"bad.yaml:8:11: platform: expected a mapping with keys link_latency, link_bandwidth, "
        "got fast"}},
      {"DuplicateKey",
       Base("seed: 1\nseed: 2\n"),
       {},
       {"bad.yaml:9:1: seed: expected each key once, got a second seed (first on line 8)"}},
      {"NegativeSeed",
       Base("seed: -1\n"),
       {},
       {"bad.yaml:8:7: seed: expected an integer in [0, 2^64), got -1"}},
      {"SyntaxError",
       Base("policy: [a, b\n"),
       {},
       {"bad.yaml:9:1: (syntax): expected valid YAML, got end of sequence flow not found"}},
      {"NotAMapping",
       "- a\n- b\n",
       {},
       {"bad.yaml:1:1: (top level): expected a mapping of scenario keys", "got a list"}},
      {"ScalarDocument",
       "just text\n",
       {},
       {"bad.yaml:1:1: (top level): expected a mapping of scenario keys", "got just text"}},
      {"EmptyFile", "", {}, {"bad.yaml:1:1: (top level):", "got an empty document"}},
      {"CommentsOnly", "# nothing here\n", {}, {"bad.yaml:1:1:", "got an empty document"}},
      {"TwoDocuments",
       Base("---\nname: u\n"),
       {},
       {"bad.yaml:9:1: (top level): expected a single YAML document"}},

      // Overrides: errors name the --set instead of a line of the file.
      {"OverrideWithoutEquals",
       kBase,
       {"seed"},
       {"--set seed: expected KEY=VALUE (e.g. policy.target_utilization=0.5), got no '='"}},
      {"OverrideEmptySegment",
       kBase,
       {"policy..pool=web"},
       {"--set policy..pool: expected a dotted key such as node_types.1.max"}},
      {"OverrideUnknownTypeName",
       kBase,
       {"node_types.huge.max=3"},
       {"--set node_types.huge.max: expected an index below 1 or a node type name after "
        "node_types, got huge"}},
      {"OverrideIndexOutOfRange",
       kBase,
       {"node_types.3.max=3"},
       {"--set node_types.3.max: expected an index below 1"}},
      {"OverrideThroughAValue",
       kBase,
       {"name.first=x"},
       {"--set name.first: expected name to be a section with keys, got the value t"}},
      {"OverrideBadYamlValue",
       kBase,
       {"description=[a"},
       {"--set description: expected a YAML value, got [a"}},
      {"OverrideCreatesUnknownKey",
       kBase,
       {"policy.tolerence=0.2"},
       {"--set policy.tolerence: policy.tolerence: expected one of name, pool,",
        "got an unknown key (did you mean tolerance?)"}},
      {"OverrideCreatesUnknownSection",
       kBase,
       {"platform.fast.yes=1"},
       {"--set platform.fast.yes: platform.fast: expected one of link_latency, link_bandwidth"}},
      {"OverrideOutOfRangeByName",
       kBase,
       {"node_types.web.cores=0"},
       {"--set node_types.web.cores: node_types[0].cores: expected an integer in [1, 4096], "
        "got 0"}},
      {"OverrideReplacesAnElement",
       kBase,
       {"node_types.0={name: web, min: 1, max: 2, cores: x}"},
       {"--set node_types.0: node_types[0].cores: expected an integer"}},
      {"OverrideEmptyKey",
       kBase,
       {"=3"},
       {"--set =3: expected a dotted key such as node_types.1.max, got an empty key"}},
      // A check between two keys blames the --set that changed one of them,
      // even though the error is reported at the other key.
      {"OverrideMakesFileValueInvalid",
       kBase,
       {"node_types.web.max=1"},
       {"--set node_types.web.max: node_types[0].initial: expected an integer in [min, max] = "
        "[1, 1], got 2"}},
      {"OverrideShortensDurationBelowInterval",
       kBase,
       {"duration=10s"},
       {"--set duration: control_interval: expected a duration <= duration (10s), got 15s"}},
      {"OverrideMovesSpikeBeforeAnnouncement",
       Base("trace:\n  synthetic:\n    spikes:\n      - {start: 2h, announced: 1h}\n"),
       {"trace.synthetic.spikes.0.start=30m"},
       {"--set trace.synthetic.spikes.0.start: trace.synthetic.spikes[0].announced: expected a "
        "duration <= start (30m), got 1h"}},
      {"FileErrorWithOverrides",
       Base("seed: x\n"),
       {"duration=2h"},
       {"bad.yaml:8:7: seed: expected an integer"}},

      // faults: (twin/faults.h); the section starts on line 8.
      {"FaultsUnknownKey",
       Base("faults:\n  crashs: []\n"),
       {},
       {"bad.yaml:9:3: faults.crashs: expected one of topology, mtbf, crashes, domains, gray, "
        "links, manager, detection, got an unknown key (did you mean crashes?)"}},
      {"FaultsNotAMapping",
       Base("faults: on\n"),
       {},
       {"bad.yaml:8:9: faults: expected a mapping with keys topology,", "got on"}},
      {"FaultsMtbfUnknownType",
       Base("faults:\n  mtbf: {webb: 1d}\n"),
       {},
       {"bad.yaml:9:10: faults.mtbf.webb: expected one of web, got an unknown key (did you mean "
        "web?)"}},
      {"FaultsMtbfZero",
       Base("faults:\n  mtbf: {web: 0s}\n"),
       {},
       {"bad.yaml:9:15: faults.mtbf.web: expected a duration > 0s, got 0s"}},
      {"FaultsCrashUnknownType",
       Base("faults:\n  crashes:\n    - {at: 1h, type: huge}\n"),
       {},
       {"bad.yaml:10:22: faults.crashes[0].type: expected a node type name (web), got huge"}},
      {"FaultsCrashCountZero",
       Base("faults:\n  crashes:\n    - {at: 1h, count: 0}\n"),
       {},
       {"bad.yaml:10:23: faults.crashes[0].count: expected an integer in [1, 100000], got 0"}},
      {"FaultsCrashesNotAList",
       Base("faults:\n  crashes: {at: 1h}\n"),
       {},
       {"bad.yaml:9:3: faults.crashes: expected a list of {at, count, type}, got a mapping"}},
      {"FaultsNegativeAt",
       Base("faults:\n  crashes:\n    - {at: 1h}\n    - {at: -1h}\n"),
       {},
       {"bad.yaml:11:12: faults.crashes[1].at: expected a duration >= 0 such as 15s", "got -1h"}},
      {"FaultsAtPastTheEnd",
       Base("duration: 2h\nfaults:\n  crashes:\n    - {at: 3h}\n"),
       {},
       {"bad.yaml:11:12: faults.crashes[0].at: expected a duration in [0s, 2h] (within the run's "
        "duration), got 3h"}},
      {"FaultsAtMissing",
       Base("faults:\n  manager:\n    - {duration: 5m}\n"),
       {},
       {"bad.yaml:10:7: faults.manager[0].at: expected a duration in [0s, 1d], when the fault "
        "strikes (required), got nothing"}},
      {"FaultsZonesZero",
       Base("faults:\n  topology: {zones: 0}\n"),
       {},
       {"bad.yaml:9:21: faults.topology.zones: expected an integer in [1, 10000], got 0"}},
      {"FaultsTooManyRacks",
       Base("faults:\n  topology: {zones: 200, racks_per_zone: 51}\n"),
       {},
       {"bad.yaml:9:42: faults.topology.racks_per_zone: expected at most 10000 racks in all "
        "(zones x racks_per_zone), got 200 x 51 = 10200"}},
      {"FaultsZoneOutOfRange",
       Base("faults:\n  topology: {zones: 3, racks_per_zone: 4}\n  domains:\n"
            "    - {at: 1h, zone: 3}\n"),
       {},
       {"bad.yaml:11:22: faults.domains[0].zone: expected a zone index in [0, 2] "
        "(faults.topology has 3 zones), got 3"}},
      {"FaultsRackOutOfRangeOfTheDefaultTopology",
       Base("faults:\n  domains:\n    - {at: 1h, rack: 1}\n"),
       {},
       {"bad.yaml:10:22: faults.domains[0].rack: expected a rack index in [0, 0] "
        "(faults.topology has 1 rack: 1 zone of 1), got 1"}},
      {"FaultsTwoDomainKeys",
       Base("faults:\n  topology: {zones: 2}\n  domains:\n    - {at: 1h, zone: 0, rack: 1}\n"),
       {},
       {"bad.yaml:11:31: faults.domains[0].rack: expected exactly one of zone, rack or "
        "aggregation, got zone and rack"}},
      {"FaultsNoDomainKey",
       Base("faults:\n  domains:\n    - {at: 1h, duration: 5m}\n"),
       {},
       {"bad.yaml:10:7: faults.domains[0]: expected exactly one of zone, rack or aggregation (the "
        "failure domain), got none"}},
      {"FaultsAggregationSwitchTwo",
       Base("faults:\n  domains:\n    - {at: 1h, aggregation: {zone: 0, switch: 2}}\n"),
       {},
       {"bad.yaml:10:47: faults.domains[0].aggregation.switch: expected an integer in [0, 1], "
        "got 2"}},
      {"FaultsDomainDurationZero",
       Base("faults:\n  domains:\n    - {at: 1h, zone: 0, duration: 0s}\n"),
       {},
       {"bad.yaml:10:35: faults.domains[0].duration: expected forever or a duration > 0s such as "
        "10m or 2h, got 0s"}},
      {"FaultsGraySpeedZero",
       Base("faults:\n  gray:\n    - {at: 1h, speed: 0}\n"),
       {},
       {"bad.yaml:10:23: faults.gray[0].speed: expected a number in (0, 1], got 0"}},
      {"FaultsGraySpeedAboveOne",
       Base("faults:\n  gray:\n    - {at: 1h, speed: 0.5}\n    - {at: 2h, speed: 1.5}\n"),
       {},
       {"bad.yaml:11:23: faults.gray[1].speed: expected a number in (0, 1], got 1.5"}},
      {"FaultsGrayThatChangesNothing",
       Base("faults:\n  gray:\n    - {at: 1h, speed: 1, error_rate: 0}\n"),
       {},
       {"bad.yaml:10:7: faults.gray[0]: expected speed < 1 or error_rate > 0 (a gray failure "
        "must slow nodes or fail requests), got speed 1 and error_rate 0"}},
      {"FaultsGrayErrorRateAboveOne",
       Base("faults:\n  gray:\n    - {at: 1h, error_rate: 1.2}\n"),
       {},
       {"bad.yaml:10:28: faults.gray[0].error_rate: expected a number in [0, 1], got 1.2"}},
      {"FaultsLinkLatencyBelowOne",
       Base("faults:\n  links:\n    - {at: 1h, zone: 0, latency: 0.5}\n"),
       {},
       {"bad.yaml:10:34: faults.links[0].latency: expected a latency factor >= 1 such as 20 or "
        "20x, got 0.5"}},
      {"FaultsLinkLatencyBadUnit",
       Base("faults:\n  links:\n    - {at: 1h, zone: 0, latency: 20ms}\n"),
       {},
       {"faults.links[0].latency: expected a latency factor >= 1", "got 20ms"}},
      {"FaultsLinkLossOne",
       Base("faults:\n  links:\n    - {at: 1h, zone: 0, loss: 1}\n"),
       {},
       {"bad.yaml:10:31: faults.links[0].loss: expected a number in [0, 1), got 1"}},
      {"FaultsLinkThatChangesNothing",
       Base("faults:\n  links:\n    - {at: 1h, rack: 0, latency: 1x, cut: false}\n"),
       {},
       {"bad.yaml:10:7: faults.links[0]: expected latency > 1, loss > 0 or cut: true (a link "
        "fault must change something), got none of them"}},
      {"FaultsManagerDurationZero",
       Base("faults:\n  manager:\n    - {at: 1h, duration: 0s}\n"),
       {},
       {"bad.yaml:10:26: faults.manager[0].duration: expected a duration > 0s, got 0s"}},
      {"FaultsBadAnomalyName",
       Base("faults:\n  detection:\n    anomaly: isolation-forest\n"),
       {},
       {"bad.yaml:10:14: faults.detection.anomaly: expected robust-z, forecast-residual or none, "
        "got isolation-forest"}},
      {"FaultsIsolatedFractionTwo",
       Base("faults:\n  detection:\n    max_isolated_fraction: 2\n"),
       {},
       {"bad.yaml:10:28: faults.detection.max_isolated_fraction: expected a number in [0, 1], "
        "got 2"}},
      {"FaultsHeartbeatMissesZero",
       Base("faults:\n  detection: {heartbeat_misses: 0}\n"),
       {},
       {"bad.yaml:9:33: faults.detection.heartbeat_misses: expected an integer in [1, 100000], "
        "got 0"}},
      {"FaultsWindowZero",
       Base("faults:\n  detection: {window: 0s}\n"),
       {},
       {"bad.yaml:9:23: faults.detection.window: expected a duration > 0s, got 0s"}},
      {"OverrideAddsACrashPastTheEnd",
       kBase,
       {"faults.crashes=[{at: 30h}]"},
       {"--set faults.crashes: faults.crashes[0].at: expected a duration in [0s, 1d] (within the "
        "run's duration), got 30h"}},
      {"OverrideShortensTheRunBeforeACrash",
       Base("faults:\n  crashes:\n    - {at: 2h}\n"),
       {"duration=1h"},
       {"--set duration: faults.crashes[0].at: expected a duration in [0s, 1h] (within the run's "
        "duration), got 2h"}},
      {"OverrideShrinksTheTopologyUnderADomain",
       Base("faults:\n  topology: {zones: 3}\n  domains:\n    - {at: 1h, zone: 2}\n"),
       {"faults.topology.zones=2"},
       {"--set faults.topology.zones: faults.domains[0].zone: expected a zone index in [0, 1] "
        "(faults.topology has 2 zones), got 2"}},
      {"OverrideMakesAGrayFailureChangeNothing",
       Base("faults:\n  gray:\n    - {at: 1h, error_rate: 0.1}\n"),
       {"faults.gray.0.error_rate=0"},
       {"--set faults.gray.0.error_rate: faults.gray[0]: expected speed < 1 or error_rate > 0"}},
  };
}

INSTANTIATE_TEST_SUITE_P(All, BadScenarioTest, ::testing::ValuesIn(BadCases()),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           return param_info.param.label;
                         });

// ---------------------------------------------------------------------------
// Overrides that succeed.

TEST(OverrideTest, AppliesKeysIndicesAndTypeNames) {
  const std::vector<std::string> overrides = {
      "seed=7",
      "duration=2h",
      "node_types.medium.max=80",
      "node_types.2.cost_per_hour=0.2",
      "policy.target_utilization=0.5",
      "policy.scale_up.rules.0.value=8",
      "trace.synthetic.spikes.0.announced=null",
      "slo.drops_violate=false",
      // Not a flow value: taken as text rather than as a YAML mapping.
      "trace.synthetic.spikes.0.text=Launch: moved to 21:00",
  };
  absl::StatusOr<Scenario> s = ParseScenario(DefaultScenarioText(), "<default>", overrides);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->overrides, overrides);
  EXPECT_EQ(s->text, DefaultScenarioText());  // the text as read, not as overridden
  EXPECT_EQ(s->seed, 7u);
  EXPECT_DOUBLE_EQ(s->duration, 7200);
  EXPECT_EQ(s->node_types[1].max, 80);
  EXPECT_EQ(s->hpa.max_replicas, 80);
  EXPECT_DOUBLE_EQ(s->node_types[2].cost_per_hour, 0.2);
  EXPECT_DOUBLE_EQ(s->hpa.target_utilization, 0.5);
  EXPECT_EQ(s->hpa.scale_up.rules[0].value, 8);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[0].announced, -1);
  EXPECT_FALSE(s->slo.drops_violate);
  EXPECT_EQ(s->trace.synthetic.spikes[0].text, "Launch: moved to 21:00");
}

TEST(OverrideTest, CreatesAbsentSectionsAndReplacesLists) {
  absl::StatusOr<Scenario> s =
      ParseScenario(kBase, "min.yaml",
                    {"workload.queue_limit=10s", "policy.scale_down.select=disabled",
                     "policy.scale_down.rules=[]",
                     "trace.synthetic.spikes=[{start: 1h, announced: 30m, magnitude: 3}]"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->workload.queue_limit, 10);
  EXPECT_EQ(s->hpa.scale_down.select, HpaScalingBehavior::Select::kDisabled);
  EXPECT_TRUE(s->hpa.scale_down.rules.empty());
  ASSERT_EQ(s->trace.synthetic.spikes.size(), 1u);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[0].announced, 1800);
  EXPECT_DOUBLE_EQ(s->trace.synthetic.spikes[0].magnitude, 3);
}

TEST(ScenarioForecastTest, VariantIsReadForNetworksAndDefaultsToAuto) {
  absl::StatusOr<Scenario> s = ParseScenario(Base("forecast:\n  model: gru\n"), "min.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->forecast.variant, "auto");
  s = ParseScenario(Base("forecast:\n  model: lstm\n  variant: lean\n"), "min.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->forecast.variant, "lean");
  s = ParseScenario(Base("forecast:\n  model: gru\n"), "min.yaml", {"forecast.variant=rich"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->forecast.variant, "rich");
}

TEST(OverrideTest, LaterOverrideWins) {
  absl::StatusOr<Scenario> s = ParseScenario(kBase, "min.yaml", {"seed=3", "seed=4"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->seed, 4u);
}

// ---------------------------------------------------------------------------
// Files.

TEST(LoadScenarioFileTest, ReadsAFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "/meshtwin_scenario_test.yaml";
  {
    std::ofstream out(path);
    out << kBase << "seed: 9\n";
  }
  absl::StatusOr<Scenario> s = LoadScenarioFile(path, {"policy.tolerance=0.2"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source, path);
  EXPECT_EQ(s->seed, 9u);
  EXPECT_DOUBLE_EQ(s->hpa.tolerance, 0.2);
  EXPECT_EQ(s->text, std::string(kBase) + "seed: 9\n");

  {
    std::ofstream out(path);
    out << kBase << "seed: nine\n";
  }
  s = LoadScenarioFile(path, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), StartsWith(path + ":8:7: seed: "));
  std::filesystem::remove(path);
}

TEST(LoadScenarioFileTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "/no_such_dir/none.yaml";
  absl::StatusOr<Scenario> s = LoadScenarioFile(path, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.status().message(), path + ": cannot read: No such file or directory");
}

TEST(LoadScenarioFileTest, DirectoryIsNotFound) {
  absl::StatusOr<Scenario> s = LoadScenarioFile(::testing::TempDir(), {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(": cannot read: Is a directory"));
}

// ---------------------------------------------------------------------------
// Policies.

TEST(MakePolicyTest, DefaultScenarioGivesTheHpa) {
  absl::StatusOr<Scenario> s = ParseScenario(DefaultScenarioText(), "<default>", {});
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(*s, BuildTrace(*s));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->name(), "hpa");
}

TEST(MakePolicyTest, ComposesTheScalingPolicyWithItsParts) {
  absl::StatusOr<Scenario> s = ParseScenario(
      DefaultScenarioText(), "<default>",
      {"policy.name=oracle", "policy.shifting.hot_queue=3s", "policy.admission.burst=1s"});
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<std::unique_ptr<Policy>> policy = MakePolicy(*s, BuildTrace(*s));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->name(), "oracle+shifting+admission");
  EXPECT_TRUE((*policy)->wants_node_view());
  // The oracle places capacity per role itself: role assignment is left out.
  s = ParseScenario(DefaultScenarioText(), "<default>",
                    {"policy.name=oracle", "roles=[{name: a}, {name: b}]", "policy.roles={}"});
  ASSERT_TRUE(s.ok()) << s.status();
  policy = MakePolicy(*s, BuildTrace(*s));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->name(), "oracle");
  EXPECT_TRUE((*policy)->wants_node_view());
  s = ParseScenario(DefaultScenarioText(), "<default>",
                    {"policy.name=none", "policy.shifting.enabled=false"});
  ASSERT_TRUE(s.ok()) << s.status();
  policy = MakePolicy(*s, BuildTrace(*s));
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->name(), "none");
}

TEST(ScenarioTest, ReadsTheDhtAsAWordOrASection) {
  absl::StatusOr<Scenario> s = ParseScenario(DefaultScenarioText(), "<default>", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->dht.enabled());
  EXPECT_DOUBLE_EQ(s->dht.query_every, s->control_interval);
  s = ParseScenario(DefaultScenarioText(), "<default>", {"dht=kademlia"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->dht.protocol, "kademlia");
  EXPECT_DOUBLE_EQ(s->dht.refresh, 30);
  EXPECT_DOUBLE_EQ(s->dht.ttl, 90);
  s = ParseScenario(DefaultScenarioText(), "<default>",
                    {"dht={protocol: chord, refresh: 10s, ttl: 45s, query_every: 1m}"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->dht.protocol, "chord");
  EXPECT_DOUBLE_EQ(s->dht.refresh, 10);
  EXPECT_DOUBLE_EQ(s->dht.ttl, 45);
  EXPECT_DOUBLE_EQ(s->dht.query_every, 60);
  s = ParseScenario(DefaultScenarioText(), "<default>", {"dht={protocol: chord, bogus: 1}"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("bogus"));
}

TEST(ScenarioTest, ReadsClassesAndRoles) {
  absl::StatusOr<Scenario> s = ParseScenario(
      DefaultScenarioText(), "<default>",
      {"workload.classes={critical: {share: 0.2, deadline: 10s}, standard: {share: 0.5, deadline: "
       "5s}, best_effort: {share: 0.3, deadline: 2s}}",
       "roles=[{name: web, share: 3, switch_time: 90s}, {name: batch, share: 1}]",
       "policy.roles.min_dwell=15m"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->workload.class_share[2], 0.3);
  EXPECT_DOUBLE_EQ(s->workload.class_deadline[0], 10);
  ASSERT_EQ(s->roles.size(), 2u);
  EXPECT_EQ(s->roles[0].name, "web");
  EXPECT_DOUBLE_EQ(s->roles[0].switch_time, 90);
  EXPECT_DOUBLE_EQ(s->roles[1].switch_time, 60);
  EXPECT_TRUE(s->roles_enabled);
  EXPECT_DOUBLE_EQ(s->role_assignment.min_dwell, 900);
  // Without role channels in the trace, each role gets its share of the demand.
  const Trace trace = BuildTrace(*s);
  const std::vector<Trace> roles = RoleTraces(*s, trace);
  ASSERT_EQ(roles.size(), 2u);
  EXPECT_NEAR(roles[0].demand[100], 0.75 * trace.demand[100], 1e-9);
  EXPECT_NEAR(roles[1].demand[100], 0.25 * trace.demand[100], 1e-9);
}

// ---------------------------------------------------------------------------
// faults: (twin/faults.h).

TEST(FaultsTest, AbsentSectionIsOffAndAnEmptyOneIsOnWithDefaults) {
  absl::StatusOr<Scenario> s = ParseScenario(kBase, "min.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->faults.enabled);

  s = ParseScenario(Base("faults:\n"), "empty.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  const FaultsSpec& f = s->faults;
  const FaultsSpec d;
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.topology.zones, 1);
  EXPECT_EQ(f.topology.racks_per_zone, 1);
  EXPECT_DOUBLE_EQ(f.topology.hop_latency, 50e-6);
  EXPECT_TRUE(f.mtbf.empty());
  EXPECT_TRUE(f.crashes.empty());
  EXPECT_TRUE(f.domains.empty());
  EXPECT_TRUE(f.gray.empty());
  EXPECT_TRUE(f.links.empty());
  EXPECT_TRUE(f.manager.empty());
  EXPECT_EQ(f.detection.heartbeat_misses, d.detection.heartbeat_misses);
  EXPECT_EQ(f.detection.replace, d.detection.replace);
  EXPECT_EQ(f.detection.anomaly, "robust-z");
  EXPECT_DOUBLE_EQ(f.detection.threshold, d.detection.threshold);
  EXPECT_EQ(f.detection.max_isolations, d.detection.max_isolations);
  EXPECT_DOUBLE_EQ(f.detection.window, d.detection.window);
  EXPECT_DOUBLE_EQ(f.detection.max_isolated_fraction, d.detection.max_isolated_fraction);

  // Keys absent from an entry take the struct defaults.
  s = ParseScenario(Base("faults:\n"
                         "  topology: {zones: 2, racks_per_zone: 2}\n"
                         "  crashes: [{at: 1h}]\n"
                         "  domains: [{at: 1h, rack: 3}]\n"
                         "  gray: [{at: 1h, speed: 0.5}]\n"
                         "  links: [{at: 1h, zone: 1, cut: true}]\n"
                         "  manager: [{at: 1h}]\n"
                         "  detection: {}\n"),
                    "entries.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->faults.crashes.size(), 1u);
  EXPECT_EQ(s->faults.crashes[0].count, 1);
  EXPECT_EQ(s->faults.crashes[0].node_type, -1);
  ASSERT_EQ(s->faults.domains.size(), 1u);
  EXPECT_EQ(s->faults.domains[0].duration, kForever);
  ASSERT_EQ(s->faults.gray.size(), 1u);
  EXPECT_EQ(s->faults.gray[0].count, 1);
  EXPECT_EQ(s->faults.gray[0].node_type, -1);
  EXPECT_DOUBLE_EQ(s->faults.gray[0].error_rate, 0);
  EXPECT_EQ(s->faults.gray[0].duration, kForever);
  ASSERT_EQ(s->faults.links.size(), 1u);
  EXPECT_DOUBLE_EQ(s->faults.links[0].latency, 1);
  EXPECT_DOUBLE_EQ(s->faults.links[0].loss, 0);
  EXPECT_EQ(s->faults.links[0].duration, kForever);
  ASSERT_EQ(s->faults.manager.size(), 1u);
  EXPECT_DOUBLE_EQ(s->faults.manager[0].duration, 120);
}

TEST(FaultsTest, FullSectionRoundTripsIntoTheStruct) {
  const std::string yaml =
      "name: t\n"
      "node_types:\n"
      "  - {name: big, initial: 2, min: 2, max: 2}\n"
      "  - {name: web, initial: 2, min: 1, max: 10}\n"
      "faults:\n"
      "  topology: {zones: 3, racks_per_zone: 4, hop_latency: 100us}\n"
      "  mtbf: {web: 12h, big: 2d}\n"
      "  crashes:\n"
      "    - {at: 14h, count: 3, type: web}\n"
      "    - {at: 30m}\n"
      "  domains:\n"
      "    - {at: 15h, rack: 11, duration: 30m}\n"
      "    - {at: 16h, zone: 2}\n"
      "    - {at: 17h, aggregation: {zone: 1, switch: 1}, duration: forever}\n"
      "  gray:\n"
      "    - {at: 13h, count: 2, type: big, speed: 0.3, error_rate: 0.05, duration: 1h}\n"
      "    - {at: 1h, error_rate: 0.5}\n"
      "  links:\n"
      "    - {at: 16h, zone: 1, latency: 20x, duration: 10m}\n"
      "    - {at: 17h, rack: 5, cut: true, duration: 5m}\n"
      "    - {at: 18h, aggregation: {zone: 0}, latency: 3, loss: 0.1}\n"
      "  manager:\n"
      "    - {at: 18h, duration: 2m}\n"
      "    - {at: 19h, duration: 10s}\n"
      "  detection:\n"
      "    heartbeat_misses: 3\n"
      "    replace: false\n"
      "    anomaly: forecast-residual\n"
      "    threshold: 4.5\n"
      "    max_isolations: 1\n"
      "    window: 20m\n"
      "    max_isolated_fraction: 0.25\n";
  absl::StatusOr<Scenario> s = ParseScenario(yaml, "full.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  const FaultsSpec& f = s->faults;
  EXPECT_TRUE(f.enabled);
  EXPECT_EQ(f.topology.zones, 3);
  EXPECT_EQ(f.topology.racks_per_zone, 4);
  EXPECT_DOUBLE_EQ(f.topology.hop_latency, 100e-6);

  // In node type order, whatever the file's order.
  ASSERT_EQ(f.mtbf.size(), 2u);
  EXPECT_EQ(f.mtbf[0].node_type, 0);
  EXPECT_DOUBLE_EQ(f.mtbf[0].mtbf, 2 * 86400);
  EXPECT_EQ(f.mtbf[1].node_type, 1);
  EXPECT_DOUBLE_EQ(f.mtbf[1].mtbf, 12 * 3600);

  ASSERT_EQ(f.crashes.size(), 2u);
  EXPECT_DOUBLE_EQ(f.crashes[0].at, 14 * 3600);
  EXPECT_EQ(f.crashes[0].count, 3);
  EXPECT_EQ(f.crashes[0].node_type, 1);
  EXPECT_DOUBLE_EQ(f.crashes[1].at, 1800);
  EXPECT_EQ(f.crashes[1].count, 1);
  EXPECT_EQ(f.crashes[1].node_type, -1);

  ASSERT_EQ(f.domains.size(), 3u);
  EXPECT_DOUBLE_EQ(f.domains[0].at, 15 * 3600);
  EXPECT_EQ(f.domains[0].domain.kind, FailureDomain::Kind::kRack);
  EXPECT_EQ(f.domains[0].domain.index, 11);
  EXPECT_DOUBLE_EQ(f.domains[0].duration, 1800);
  EXPECT_EQ(f.domains[1].domain.kind, FailureDomain::Kind::kZone);
  EXPECT_EQ(f.domains[1].domain.index, 2);
  EXPECT_EQ(f.domains[1].duration, kForever);
  EXPECT_EQ(f.domains[2].domain.kind, FailureDomain::Kind::kAggregation);
  EXPECT_EQ(f.domains[2].domain.index, 1);
  EXPECT_EQ(f.domains[2].domain.switch_index, 1);
  EXPECT_EQ(f.domains[2].duration, kForever);

  ASSERT_EQ(f.gray.size(), 2u);
  EXPECT_DOUBLE_EQ(f.gray[0].at, 13 * 3600);
  EXPECT_EQ(f.gray[0].count, 2);
  EXPECT_EQ(f.gray[0].node_type, 0);
  EXPECT_DOUBLE_EQ(f.gray[0].speed, 0.3);
  EXPECT_DOUBLE_EQ(f.gray[0].error_rate, 0.05);
  EXPECT_DOUBLE_EQ(f.gray[0].duration, 3600);
  EXPECT_DOUBLE_EQ(f.gray[1].speed, 1);
  EXPECT_DOUBLE_EQ(f.gray[1].error_rate, 0.5);

  ASSERT_EQ(f.links.size(), 3u);
  EXPECT_DOUBLE_EQ(f.links[0].at, 16 * 3600);
  EXPECT_EQ(f.links[0].domain.kind, FailureDomain::Kind::kZone);
  EXPECT_EQ(f.links[0].domain.index, 1);
  EXPECT_DOUBLE_EQ(f.links[0].latency, 20);
  EXPECT_DOUBLE_EQ(f.links[0].loss, 0);
  EXPECT_FALSE(f.links[0].cut);
  EXPECT_DOUBLE_EQ(f.links[0].duration, 600);
  EXPECT_EQ(f.links[1].domain.kind, FailureDomain::Kind::kRack);
  EXPECT_EQ(f.links[1].domain.index, 5);
  EXPECT_TRUE(f.links[1].cut);
  EXPECT_DOUBLE_EQ(f.links[1].latency, 1);
  EXPECT_DOUBLE_EQ(f.links[1].duration, 300);
  EXPECT_EQ(f.links[2].domain.kind, FailureDomain::Kind::kAggregation);
  EXPECT_EQ(f.links[2].domain.index, 0);
  EXPECT_EQ(f.links[2].domain.switch_index, 0);
  EXPECT_DOUBLE_EQ(f.links[2].latency, 3);
  EXPECT_DOUBLE_EQ(f.links[2].loss, 0.1);
  EXPECT_EQ(f.links[2].duration, kForever);

  ASSERT_EQ(f.manager.size(), 2u);
  EXPECT_DOUBLE_EQ(f.manager[0].at, 18 * 3600);
  EXPECT_DOUBLE_EQ(f.manager[0].duration, 120);
  EXPECT_DOUBLE_EQ(f.manager[1].duration, 10);

  EXPECT_EQ(f.detection.heartbeat_misses, 3);
  EXPECT_FALSE(f.detection.replace);
  EXPECT_EQ(f.detection.anomaly, "forecast-residual");
  EXPECT_DOUBLE_EQ(f.detection.threshold, 4.5);
  EXPECT_EQ(f.detection.max_isolations, 1);
  EXPECT_DOUBLE_EQ(f.detection.window, 1200);
  EXPECT_DOUBLE_EQ(f.detection.max_isolated_fraction, 0.25);
}

// The example in twin/faults.h's header comment, verbatim, on the default
// scenario (which has a medium type and runs a day).
TEST(FaultsTest, TheContractsExampleParses) {
  const std::string faults =
      "faults:\n"
      "  topology: {zones: 3, racks_per_zone: 4}\n"
      "  mtbf: {medium: 12h}\n"
      "  crashes: [{at: 14h, count: 3, type: medium}]\n"
      "  domains: [{at: 15h, rack: 2, duration: 30m}]\n"
      "  gray: [{at: 13h, count: 2, speed: 0.3, error_rate: 0.05, duration: 1h}]\n"
      "  links: [{at: 16h, zone: 1, latency: 20x, duration: 10m}, {at: 17h, rack: 5, cut: true, "
      "duration: 5m}]\n"
      "  manager: [{at: 18h, duration: 2m}]\n"
      "  detection: {heartbeat_misses: 2, anomaly: robust-z, max_isolations: 2, window: 10m}\n";
  absl::StatusOr<Scenario> s =
      ParseScenario(std::string(DefaultScenarioText()) + faults, "<default>", {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->faults.enabled);
  ASSERT_EQ(s->faults.mtbf.size(), 1u);
  EXPECT_EQ(s->faults.mtbf[0].node_type, 1);
  EXPECT_EQ(s->faults.crashes[0].node_type, 1);
  EXPECT_EQ(s->faults.links.size(), 2u);
  EXPECT_DOUBLE_EQ(s->faults.detection.window, 600);
}

TEST(FaultsTest, OverridesGoThroughTheSameReader) {
  absl::StatusOr<Scenario> s =
      ParseScenario(kBase, "min.yaml",
                    {"faults.crashes=[{at: 2h, count: 3}]", "faults.detection.anomaly=none",
                     "faults.topology.zones=2", "faults.links=[{at: 3h, zone: 1, loss: 0.2}]"});
  ASSERT_TRUE(s.ok()) << s.status();
  const FaultsSpec& f = s->faults;
  EXPECT_TRUE(f.enabled);
  ASSERT_EQ(f.crashes.size(), 1u);
  EXPECT_DOUBLE_EQ(f.crashes[0].at, 7200);
  EXPECT_EQ(f.crashes[0].count, 3);
  EXPECT_EQ(f.crashes[0].node_type, -1);
  EXPECT_EQ(f.detection.anomaly, "none");
  EXPECT_EQ(f.topology.zones, 2);
  ASSERT_EQ(f.links.size(), 1u);
  EXPECT_EQ(f.links[0].domain.index, 1);
  EXPECT_DOUBLE_EQ(f.links[0].loss, 0.2);

  // An override changes one entry of a file's list in place.
  s = ParseScenario(Base("faults:\n  crashes:\n    - {at: 1h, count: 2}\n"), "one.yaml",
                    {"faults.crashes.0.at=90m", "faults.crashes.0.type=web"});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->faults.crashes.size(), 1u);
  EXPECT_DOUBLE_EQ(s->faults.crashes[0].at, 5400);
  EXPECT_EQ(s->faults.crashes[0].count, 2);
  EXPECT_EQ(s->faults.crashes[0].node_type, 0);
}

// The library's failure storm carries the faults its comment describes, and
// the comment's --set for priority classes works on it.
TEST(FaultsTest, FailureStormCarriesItsFaults) {
  absl::StatusOr<Scenario> s = LoadScenarioByName("failure-storm", {});
  ASSERT_TRUE(s.ok()) << s.status();
  const FaultsSpec& f = s->faults;
  ASSERT_TRUE(f.enabled);
  EXPECT_EQ(f.topology.zones, 3);
  EXPECT_EQ(f.topology.racks_per_zone, 4);
  ASSERT_EQ(f.mtbf.size(), 1u);
  EXPECT_EQ(s->node_types[static_cast<std::size_t>(f.mtbf[0].node_type)].name, "medium");
  EXPECT_DOUBLE_EQ(f.mtbf[0].mtbf, 2 * 86400);
  ASSERT_EQ(f.crashes.size(), 1u);
  EXPECT_DOUBLE_EQ(f.crashes[0].at, 14 * 3600);
  EXPECT_EQ(f.crashes[0].count, 4);
  EXPECT_EQ(f.crashes[0].node_type, f.mtbf[0].node_type);
  ASSERT_EQ(f.domains.size(), 1u);
  EXPECT_DOUBLE_EQ(f.domains[0].at, 14.5 * 3600);
  EXPECT_EQ(f.domains[0].domain.kind, FailureDomain::Kind::kRack);
  EXPECT_DOUBLE_EQ(f.domains[0].duration, 1800);
  ASSERT_EQ(f.gray.size(), 1u);
  EXPECT_DOUBLE_EQ(f.gray[0].at, 13.5 * 3600);
  EXPECT_EQ(f.gray[0].count, 2);
  EXPECT_DOUBLE_EQ(f.gray[0].speed, 0.3);
  EXPECT_DOUBLE_EQ(f.gray[0].error_rate, 0.02);
  EXPECT_DOUBLE_EQ(f.gray[0].duration, 7200);
  ASSERT_EQ(f.links.size(), 1u);
  EXPECT_DOUBLE_EQ(f.links[0].at, 15.25 * 3600);
  EXPECT_EQ(f.links[0].domain.kind, FailureDomain::Kind::kZone);
  EXPECT_TRUE(f.links[0].cut);
  EXPECT_DOUBLE_EQ(f.links[0].duration, 600);
  ASSERT_EQ(f.manager.size(), 1u);
  EXPECT_DOUBLE_EQ(f.manager[0].at, 15 * 3600 + 40 * 60);
  EXPECT_DOUBLE_EQ(f.manager[0].duration, 120);

  s = LoadScenarioByName("failure-storm",
                         {"workload.classes={critical: {share: 0.2}, standard: {share: 0.8}}",
                          "policy.admission.enabled=true"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->admission_enabled);
  EXPECT_DOUBLE_EQ(s->workload.class_share[0], 0.2);
}

TEST(MakePolicyTest, RejectsHandBuiltScenariosItCannotRun) {
  absl::StatusOr<Scenario> s = ParseScenario(kBase, "min.yaml", {});
  ASSERT_TRUE(s.ok()) << s.status();
  Scenario unknown = *s;
  unknown.policy = "magic";
  const Trace trace = BuildTrace(*s);
  EXPECT_EQ(MakePolicy(unknown, trace).status().code(), absl::StatusCode::kInvalidArgument);
  Scenario bad_pool = *s;
  bad_pool.hpa.node_type = 5;
  EXPECT_EQ(MakePolicy(bad_pool, trace).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace meshtwin
