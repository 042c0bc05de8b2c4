// Scenario loading: YAML text -> overrides applied -> one validating pass that
// fills a Scenario. Every error is a single InvalidArgumentError of the form
// "WHERE: KEY.PATH: expected ..., got ..." where WHERE is "FILE:LINE:COL", or
// "--set KEY" for values an override put there (yaml-cpp's marks for those are
// missing or relative to the override's text, so they cannot be trusted).
//
// Internals take absl::string_view, not std::string_view: Debian's abseil is
// built with its own string_view type, the only one absl::StrCat accepts.
#include "scenarios/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "datasets/events.h"
#include "datasets/presets.h"
#include "datasets/trace_file.h"
#include "models/forecast_pipeline.h"
#include "models/forecaster.h"
#include "policies/composite_policy.h"
#include "scenarios/synthetic_reader.h"
#include "scenarios/yaml_reader.h"

namespace meshtwin {
namespace {

using namespace scenario_yaml;  // NOLINT: the reader vocabulary of this folder
// Node type names double as --set path segments (node_types.medium.max), so
// they must not contain '.', '=' or spaces, nor look like an index.
bool IsValidTypeName(absl::string_view name) {
  if (name.empty() ||
      !(absl::ascii_isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

absl::Status ReadWorkload(const Reporter& r, const Item& item, WorkloadSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s,
      Section::Open(r, item, {"request_work", "queue_limit", "request_bytes", "classes"}));
  MESHTWIN_RETURN_IF_ERROR(s.Flops("request_work", Above(0), &out->request_work));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("queue_limit", AtLeast(0), &out->queue_limit));
  MESHTWIN_RETURN_IF_ERROR(s.Flops("request_bytes", AtLeast(0), &out->request_bytes));
  const Item* classes = s.Find("classes");
  if (classes == nullptr) return absl::OkStatus();
  static constexpr absl::string_view kNames[kNumClasses] = {"critical", "standard", "best_effort"};
  MESHTWIN_ASSIGN_OR_RETURN(Section cs,
                            Section::Open(r, *classes, {kNames[0], kNames[1], kNames[2]}));
  out->class_share = {0, 0, 0};
  out->class_deadline = {0, 0, 0};
  double total = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    const Item* cls = cs.Find(kNames[c]);
    if (cls == nullptr) continue;
    MESHTWIN_ASSIGN_OR_RETURN(Section one, Section::Open(r, *cls, {"share", "deadline"}));
    if (one.Find("share") == nullptr) return one.Missing("share", "a number in [0, 1]");
    MESHTWIN_RETURN_IF_ERROR(one.Number("share", Closed(0, 1), &out->class_share[c]));
    MESHTWIN_RETURN_IF_ERROR(one.Duration("deadline", AtLeast(0), &out->class_deadline[c]));
    total += out->class_share[c];
  }
  if (std::abs(total - 1) > 1e-6) {
    return r.Fail(*classes,
                  absl::StrCat("expected class shares that sum to 1, got a sum of ", total));
  }
  // A deadline that grew as priority fell would let a lower class into queue
  // room a higher one was refused.
  const Seconds limit = out->queue_limit;
  auto effective = [&](int c) {
    return out->class_deadline[c] > 0 ? std::min(out->class_deadline[c], limit) : limit;
  };
  int previous = -1;  // the last class with traffic
  for (int c = 0; c < kNumClasses; ++c) {
    if (out->class_share[c] <= 0) continue;
    if (previous >= 0 && effective(c) > effective(previous) + 1e-12) {
      const std::string what = absl::StrCat(
          "expected a deadline <= ", kNames[previous], "'s (", FormatDuration(effective(previous)),
          "; a lower class may not wait longer), got ", FormatDuration(effective(c)));
      MESHTWIN_ASSIGN_OR_RETURN(Section one,
                                Section::Open(r, *cs.Find(kNames[c]), {"share", "deadline"}));
      return one.Fail("deadline", what);
    }
    previous = c;
  }
  return absl::OkStatus();
}

absl::Status ReadRoles(const Reporter& r, const Item& item, std::vector<RoleSpec>* out) {
  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                            ListItems(r, item, "a list of roles {name, share, switch_time}"));
  for (const Item& role_item : items) {
    RoleSpec role;
    MESHTWIN_ASSIGN_OR_RETURN(Section s,
                              Section::Open(r, role_item, {"name", "share", "switch_time"}));
    const Item* name = s.Find("name");
    if (name == nullptr) return s.Missing("name", "a role name such as web");
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *name, &role.name));
    if (!IsValidTypeName(role.name)) {
      return r.Fail(*name, absl::StrCat("expected a name of letters, digits, '_' and '-' "
                                        "starting with a letter or '_', got ",
                                        Describe(name->node)));
    }
    for (const RoleSpec& earlier : *out) {
      if (earlier.name == role.name) {
        return r.Fail(*name,
                      absl::StrCat("expected a unique role name, got ", role.name, " again"));
      }
    }
    MESHTWIN_RETURN_IF_ERROR(s.Number("share", AtLeast(0), &role.share));
    MESHTWIN_RETURN_IF_ERROR(s.Duration("switch_time", AtLeast(0), &role.switch_time));
    out->push_back(std::move(role));
  }
  if (out->size() == 1) {
    return r.Fail(item, "expected at least two roles (one role is the same as none), got one");
  }
  return absl::OkStatus();
}

absl::Status ReadNodeType(const Reporter& r, const Item& item,
                          const std::vector<NodeTypeSpec>& earlier, NodeTypeSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Section s,
                            Section::Open(r, item,
                                          {"name", "cores", "core_speed", "memory_gb", "boot_time",
                                           "cost_per_hour", "initial", "min", "max"}));
  const Item* name = s.Find("name");
  if (name == nullptr) return s.Missing("name", "a node type name such as medium");
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *name, &out->name));
  if (!IsValidTypeName(out->name)) {
    return r.Fail(*name, absl::StrCat("expected a name of letters, digits, '_' and '-' starting "
                                      "with a letter or '_', got ",
                                      Describe(name->node)));
  }
  for (std::size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i].name == out->name) {
      return r.Fail(*name, absl::StrCat("expected a unique node type name, got ", out->name,
                                        " again (also node_types[", i, "])"));
    }
  }
  MESHTWIN_RETURN_IF_ERROR(s.Int("cores", Closed(1, 4096), &out->cores));
  MESHTWIN_RETURN_IF_ERROR(s.Flops("core_speed", Above(0), &out->core_speed));
  MESHTWIN_RETURN_IF_ERROR(s.Number("memory_gb", Above(0), &out->memory_gb));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("boot_time", AtLeast(0), &out->boot_time));
  MESHTWIN_RETURN_IF_ERROR(s.Number("cost_per_hour", AtLeast(0), &out->cost_per_hour));
  const Range count = Closed(0, kMaxNodesPerType);
  MESHTWIN_RETURN_IF_ERROR(s.Int("initial", count, &out->initial));
  MESHTWIN_RETURN_IF_ERROR(s.Int("min", count, &out->min));
  MESHTWIN_RETURN_IF_ERROR(s.Int("max", count, &out->max));
  // Absent keys are reported with their default so "got 0" is not a mystery.
  auto got = [&s](absl::string_view key, int value) {
    return absl::StrCat("got ", value, s.Find(key) == nullptr ? " (the default; key absent)" : "");
  };
  if (out->min > out->max) {
    return s.FailAgainst(
        "min", {"max"},
        absl::StrCat("expected an integer <= max (", out->max, "), ", got("min", out->min)));
  }
  if (out->initial < out->min || out->initial > out->max) {
    return s.FailAgainst("initial", {"min", "max"},
                         absl::StrCat("expected an integer in [min, max] = [", out->min, ", ",
                                      out->max, "], ", got("initial", out->initial)));
  }
  return absl::OkStatus();
}

// A relative path in a scenario is relative to the scenario file's folder
// (the current directory for the built-in default and for --set values).
std::string ResolvePath(const Reporter& r, const Item& item, const std::string& path) {
  if (path.empty() || path.front() == '/' || r.Overridden(item.path)) return path;
  const std::filesystem::path base = std::filesystem::path(r.source()).parent_path();
  if (r.source().empty() || r.source().front() == '<' || base.empty()) return path;
  return (base / path).string();
}

absl::Status ReadFileTrace(const Reporter& r, const Section& s, TraceSpec* out) {
  CsvImportOptions& o = out->import;
  const Item* file = s.Find("file");
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *file, &out->file));
  if (out->file.empty()) return r.Fail(*file, "expected a file name, got an empty string");
  out->resolved_file = ResolvePath(r, *file, out->file);
  MESHTWIN_RETURN_IF_ERROR(s.String("format", &out->format));
  if (out->format != "auto" && out->format != "csv" && out->format != "hdf5" &&
      out->format != "prometheus-json") {
    return s.Fail("format",
                  absl::StrCat("expected auto, csv, hdf5 or prometheus-json, got ", out->format));
  }
  MESHTWIN_RETURN_IF_ERROR(s.String("time_col", &o.time_col));
  std::string value_col;
  MESHTWIN_RETURN_IF_ERROR(s.String("value_col", &value_col));
  if (!value_col.empty()) o.value_cols = {value_col};
  MESHTWIN_RETURN_IF_ERROR(s.Bool("no_time_col", &o.no_time_col));
  std::string text;
  if (const Item* tf = s.Find("time_format")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *tf, &text));
    absl::StatusOr<TimeFormat> f = ParseTimeFormatName(text);
    if (!f.ok()) return r.Fail(*tf, f.status().message());
    o.time_format = *f;
  }
  if (const Item* start = s.Find("start")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *start, &text));
    absl::StatusOr<double> t = ParseTimestamp(text);
    if (!t.ok()) return r.Fail(*start, t.status().message());
    o.start = *t;
  }
  MESHTWIN_RETURN_IF_ERROR(s.Duration("step", Range{0, 86400, false, false}, &o.step));
  if (const Item* agg = s.Find("agg")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *agg, &text));
    absl::StatusOr<Aggregation> a = ParseAggregation(text);
    if (!a.ok()) return r.Fail(*agg, a.status().message());
    o.agg = *a;
  }
  if (const Item* fill = s.Find("fill")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *fill, &text));
    absl::StatusOr<GapFill> f = ParseGapFill(text);
    if (!f.ok()) return r.Fail(*fill, f.status().message());
    o.fill = *f;
  }
  MESHTWIN_RETURN_IF_ERROR(s.Number("scale", Above(0), &o.scale));
  if (const Item* missing = s.Find("missing")) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                              ListItems(r, *missing, "a list of readings that mean no data"));
    for (const Item& m : items) {
      MESHTWIN_RETURN_IF_ERROR(
          ReadNumber(r, m, Range{-1e300, 1e300, true, true}, &o.missing_values.emplace_back()));
    }
  }
  if (const Item* events = s.Find("events")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *events, &out->events_file));
    out->events_file = ResolvePath(r, *events, out->events_file);
  }

  // Load now, so that a bad trace is reported like any other bad key.
  absl::StatusOr<Trace> trace;
  const std::string& path = out->resolved_file;
  const std::string format = out->format != "auto"           ? out->format
                             : LooksLikeHdf5(path)           ? "hdf5"
                             : absl::EndsWith(path, ".json") ? "prometheus-json"
                                                             : "csv";
  ImportReport report;
  if (format == "hdf5") {
    trace = ReadTraceFile(path);
  } else if (format == "prometheus-json") {
    CsvImportOptions po = o;
    po.demand_from = DemandFrom::kSum;
    trace = ImportPrometheusFile(path, po, &report);
  } else {
    trace = ImportCsvFile(path, o, &report);
  }
  if (!trace.ok()) return r.Fail(*file, trace.status().message());
  if (format == "hdf5" && o.scale != 1) {
    for (double& v : trace->demand) v *= o.scale;
  }
  if (!out->events_file.empty()) {
    absl::StatusOr<std::vector<Event>> events = ReadEventsFile(out->events_file);
    if (!events.ok()) return s.Fail("events", events.status().message());
    AttachEvents(*trace, *events);
  }
  out->loaded = std::make_shared<const Trace>(*std::move(trace));
  return absl::OkStatus();
}

absl::Status ReadTrace(const Reporter& r, const Item& item, Seconds duration, TraceSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section trace, Section::Open(r, item,
                                   {"synthetic", "file", "preset", "format", "time_col",
                                    "value_col", "no_time_col", "time_format", "start", "step",
                                    "agg", "fill", "scale", "missing", "events"}));
  const Item* synthetic = trace.Find("synthetic");
  const Item* file = trace.Find("file");
  const Item* preset = trace.Find("preset");
  if ((synthetic != nullptr) + (file != nullptr) + (preset != nullptr) > 1) {
    return r.Fail(item, "expected one of synthetic, file or preset, got more than one");
  }
  if (file == nullptr) {
    // The import keys only mean something for a file.
    for (absl::string_view key : {"format", "time_col", "value_col", "no_time_col", "time_format",
                                  "start", "step", "agg", "fill", "scale", "missing", "events"}) {
      if (trace.Find(key) != nullptr) return trace.Fail(key, "expected only with trace.file");
    }
  }
  if (synthetic != nullptr) {
    out->kind = TraceSpec::Kind::kSynthetic;
    return ReadSynthetic(r, *synthetic, &out->synthetic);
  }
  if (preset != nullptr) {
    out->kind = TraceSpec::Kind::kPreset;
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *preset, &out->preset));
    absl::StatusOr<Trace> t = GeneratePreset(out->preset, std::ceil(duration / 86400), 0);
    if (!t.ok()) return r.Fail(*preset, t.status().message());
    return absl::OkStatus();
  }
  if (file != nullptr) {
    out->kind = TraceSpec::Kind::kFile;
    return ReadFileTrace(r, trace, out);
  }
  return absl::OkStatus();
}

absl::Status ReadBehavior(const Reporter& r, const Item& item, HpaScalingBehavior* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Section s,
                            Section::Open(r, item, {"stabilization_window", "select", "rules"}));
  // Bounds of the autoscaling/v2 API validation (0..3600 s, 0 < period <= 1800 s).
  MESHTWIN_RETURN_IF_ERROR(
      s.Duration("stabilization_window", Closed(0, 3600), &out->stabilization_window));
  if (const Item* select = s.Find("select")) {
    std::string value;
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *select, &value));
    if (value == "max") {
      out->select = HpaScalingBehavior::Select::kMax;
    } else if (value == "min") {
      out->select = HpaScalingBehavior::Select::kMin;
    } else if (value == "disabled") {
      out->select = HpaScalingBehavior::Select::kDisabled;
    } else {
      return r.Fail(*select,
                    absl::StrCat("expected max, min or disabled, got ", Describe(select->node)));
    }
  }
  if (const Item* rules = s.Find("rules")) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                              ListItems(r, *rules, "a list of rules {type, value, period}"));
    out->rules.clear();
    for (const Item& rule_item : items) {
      HpaScalingRule& rule = out->rules.emplace_back();
      MESHTWIN_ASSIGN_OR_RETURN(Section rs,
                                Section::Open(r, rule_item, {"type", "value", "period"}));
      if (const Item* type = rs.Find("type")) {
        std::string value;
        MESHTWIN_RETURN_IF_ERROR(ReadString(r, *type, &value));
        if (value == "pods") {
          rule.type = HpaScalingRule::Type::kPods;
        } else if (value == "percent") {
          rule.type = HpaScalingRule::Type::kPercent;
        } else {
          return r.Fail(*type,
                        absl::StrCat("expected pods or percent, got ", Describe(type->node)));
        }
      }
      MESHTWIN_RETURN_IF_ERROR(rs.Int("value", Closed(1, kMaxNodesPerType), &rule.value));
      MESHTWIN_RETURN_IF_ERROR(rs.Duration("period", Range{0, 1800, true, false}, &rule.period));
    }
  }
  // With no rule the HPA could never move; Kubernetes demands one too.
  if (out->rules.empty() && out->select != HpaScalingBehavior::Select::kDisabled) {
    return s.Fail("rules", "expected at least one rule unless select is disabled, got none");
  }
  return absl::OkStatus();
}

// A policy part's section: present means on, unless it says enabled: false.
absl::StatusOr<std::optional<Section>> OpenPart(const Reporter& r, const Section& policy,
                                                absl::string_view key,
                                                std::vector<absl::string_view> keys,
                                                bool* enabled) {
  const Item* item = policy.Find(key);
  if (item == nullptr) return std::optional<Section>();
  keys.push_back("enabled");
  MESHTWIN_ASSIGN_OR_RETURN(Section s, Section::Open(r, *item, std::move(keys)));
  *enabled = true;
  MESHTWIN_RETURN_IF_ERROR(s.Bool("enabled", enabled));
  return std::optional<Section>(std::move(s));
}

// policy.predictive, .oracle, .admission, .shifting and .roles.
absl::Status ReadPolicyParts(const Reporter& r, const Section& s, Scenario* out) {
  const Range fraction{0, 1, true, false};
  if (const Item* item = s.Find("predictive")) {
    PredictiveOptions& p = out->predictive;
    MESHTWIN_ASSIGN_OR_RETURN(
        Section ps,
        Section::Open(r, *item,
                      {"quantile", "headroom", "target_utilization", "lookahead", "scale_in_delay",
                       "hysteresis", "scale_in_cooldown", "max_scale_in_step"}));
    MESHTWIN_RETURN_IF_ERROR(ps.Number("quantile", Closed(0.1, 0.9), &p.quantile));
    MESHTWIN_RETURN_IF_ERROR(ps.Number("headroom", Closed(0, 10), &p.headroom));
    MESHTWIN_RETURN_IF_ERROR(ps.Number("target_utilization", fraction, &p.target_utilization));
    MESHTWIN_RETURN_IF_ERROR(ps.Duration("lookahead", AtLeast(0), &p.lookahead));
    MESHTWIN_RETURN_IF_ERROR(ps.Duration("scale_in_delay", AtLeast(0), &p.scale_in_delay));
    MESHTWIN_RETURN_IF_ERROR(ps.Number("hysteresis", Range{0, 1, false, true}, &p.hysteresis));
    MESHTWIN_RETURN_IF_ERROR(ps.Duration("scale_in_cooldown", AtLeast(0), &p.scale_in_cooldown));
    MESHTWIN_RETURN_IF_ERROR(
        ps.Int("max_scale_in_step", Closed(0, kMaxNodesPerType), &p.max_scale_in_step));
  }
  if (const Item* item = s.Find("oracle")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section os, Section::Open(r, *item, {"target_utilization"}));
    MESHTWIN_RETURN_IF_ERROR(
        os.Number("target_utilization", fraction, &out->oracle.target_utilization));
  }
  {
    MESHTWIN_ASSIGN_OR_RETURN(
        std::optional<Section> as,
        OpenPart(r, s, "admission", {"target_utilization", "burst"}, &out->admission_enabled));
    if (as) {
      MESHTWIN_RETURN_IF_ERROR(
          as->Number("target_utilization", fraction, &out->admission.target_utilization));
      MESHTWIN_RETURN_IF_ERROR(as->Duration("burst", AtLeast(0), &out->admission.burst));
    }
  }
  {
    MESHTWIN_ASSIGN_OR_RETURN(
        std::optional<Section> ss,
        OpenPart(r, s, "shifting", {"hot_queue", "cool_queue", "max_moves", "min_requests"},
                 &out->shifting_enabled));
    if (ss) {
      ShiftingOptions& o = out->shifting;
      MESHTWIN_RETURN_IF_ERROR(ss->Duration("hot_queue", Above(0), &o.hot_queue));
      MESHTWIN_RETURN_IF_ERROR(ss->Duration("cool_queue", AtLeast(0), &o.cool_queue));
      if (o.cool_queue >= o.hot_queue) {
        return ss->FailAgainst(
            "cool_queue", {"hot_queue"},
            absl::StrCat("expected a duration below hot_queue (", FormatDuration(o.hot_queue),
                         "), got ", FormatDuration(o.cool_queue)));
      }
      MESHTWIN_RETURN_IF_ERROR(ss->Int("max_moves", Closed(1, 100000), &o.max_moves));
      MESHTWIN_RETURN_IF_ERROR(ss->Number("min_requests", AtLeast(0), &o.min_requests));
    }
  }
  {
    MESHTWIN_ASSIGN_OR_RETURN(
        std::optional<Section> rs,
        OpenPart(r, s, "roles", {"target_utilization", "hysteresis", "min_dwell", "max_switches"},
                 &out->roles_enabled));
    RoleAssignmentOptions& o = out->role_assignment;
    if (rs) {
      MESHTWIN_RETURN_IF_ERROR(rs->Number("target_utilization", fraction, &o.target_utilization));
      MESHTWIN_RETURN_IF_ERROR(rs->Number("hysteresis", AtLeast(0), &o.hysteresis));
      MESHTWIN_RETURN_IF_ERROR(rs->Duration("min_dwell", AtLeast(0), &o.min_dwell));
      MESHTWIN_RETURN_IF_ERROR(rs->Int("max_switches", Closed(1, 100000), &o.max_switches));
      if (out->roles_enabled && out->roles.size() < 2) {
        return s.Fail("roles", "expected at least two top-level roles: to assign, got " +
                                   std::to_string(out->roles.size()));
      }
    }
    o.roles = out->roles;
    o.types = out->node_types;
    o.request_work = out->workload.request_work;
  }
  return absl::OkStatus();
}

absl::Status ReadPolicy(const Reporter& r, const Section& top, Scenario* out) {
  const Item* policy_item = top.Find("policy");
  // An absent section reads as an empty one: all defaults, pool inferred.
  const Item item =
      policy_item != nullptr ? *policy_item : Item{YAML::Node(), "policy", top.self().mark};
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s,
      Section::Open(r, item,
                    {"name", "pool", "target_utilization", "tolerance", "scale_up", "scale_down",
                     "predictive", "oracle", "admission", "shifting", "roles"}));
  if (const Item* name = s.Find("name")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *name, &out->policy));
    if (out->policy != "hpa" && out->policy != "predictive" && out->policy != "oracle" &&
        out->policy != "none") {
      return r.Fail(*name, absl::StrCat("expected hpa, predictive, oracle or none, got ",
                                        Describe(name->node)));
    }
    if (out->policy == "predictive" && !out->forecast.enabled) {
      return r.FailAgainst(name->mark, name->path, {"forecast"},
                           "expected a forecast: section for predictive (it scales on the "
                           "forecast), got none");
    }
  }

  std::vector<std::string> names;
  for (const NodeTypeSpec& t : out->node_types) names.push_back(t.name);
  int pool = -1;
  if (const Item* pool_item = s.Find("pool")) {
    std::string pool_name;
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *pool_item, &pool_name));
    auto it = std::find(names.begin(), names.end(), pool_name);
    if (it == names.end()) {
      return r.Fail(*pool_item,
                    absl::StrCat("expected a node type name (", absl::StrJoin(names, ", "),
                                 "), got ", Describe(pool_item->node)));
    }
    pool = static_cast<int>(it - names.begin());
  } else {
    // Without a pool, the one type that can scale at all is the only sensible
    // choice; any other case is ambiguous and must be spelled out.
    std::vector<std::string> scalable;
    for (std::size_t i = 0; i < out->node_types.size(); ++i) {
      if (out->node_types[i].min < out->node_types[i].max) {
        scalable.push_back(names[i]);
        pool = static_cast<int>(i);
      }
    }
    if (scalable.size() != 1) {
      return s.Missing(
          "pool", absl::StrCat("the node type the HPA scales (it can be left out "
                               "only when exactly one type has min < max; ",
                               scalable.size(), " do",
                               scalable.empty() ? std::string()
                                                : absl::StrCat(": ", absl::StrJoin(scalable, ", ")),
                               ")"));
    }
  }
  const NodeTypeSpec& type = out->node_types[static_cast<std::size_t>(pool)];
  // The HPA never scales from zero replicas (it would have no utilisation to
  // read), so Kubernetes requires minReplicas >= 1.
  if (type.min < 1 && out->policy == "hpa") {
    return s.Fail("pool", absl::StrCat("expected a node type with min >= 1 (the HPA cannot scale "
                                       "from zero), got ",
                                       type.name, " with min 0"));
  }
  out->hpa.node_type = pool;
  out->hpa.min_replicas = type.min;
  out->hpa.max_replicas = type.max;
  MESHTWIN_RETURN_IF_ERROR(
      s.Number("target_utilization", Range{0, 1, true, false}, &out->hpa.target_utilization));
  // Kubernetes takes the target as a whole percentage (averageUtilization).
  if (const double pct = out->hpa.target_utilization * 100;
      std::abs(pct - std::round(pct)) > 1e-9) {
    return s.Fail("target_utilization",
                  absl::StrCat("expected a whole percentage such as 0.6 or 0.75 (Kubernetes "
                               "targets are integer percent), got ",
                               out->hpa.target_utilization));
  }
  MESHTWIN_RETURN_IF_ERROR(s.Number("tolerance", Range{0, 1, false, true}, &out->hpa.tolerance));
  if (const Item* up = s.Find("scale_up")) {
    MESHTWIN_RETURN_IF_ERROR(ReadBehavior(r, *up, &out->hpa.scale_up));
  }
  if (const Item* down = s.Find("scale_down")) {
    MESHTWIN_RETURN_IF_ERROR(ReadBehavior(r, *down, &out->hpa.scale_down));
  }
  out->predictive.min_replicas = out->oracle.min_replicas = type.min;
  out->predictive.max_replicas = out->oracle.max_replicas = type.max;
  return ReadPolicyParts(r, s, out);
}

absl::Status ReadForecast(const Reporter& r, const Item& item, Seconds control_interval,
                          ForecastSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, item,
                               {"model", "horizons", "step", "warmup", "retrain",
                                "retrain_cooldown", "retrain_window", "event_effect", "variant"}));
  out->enabled = true;
  const Item* model = s.Find("model");
  if (model != nullptr) MESHTWIN_RETURN_IF_ERROR(ReadString(r, *model, &out->model));
  const bool named = out->model == "naive" || out->model == "seasonal-naive" ||
                     out->model == "holt-winters" || out->model == "lstm" || out->model == "gru";
  MESHTWIN_RETURN_IF_ERROR(s.Duration("step", Range{0, 86400, false, true}, &out->step));
  if (!named) {
    // A model file: load it now so a bad one is reported here, at the key.
    // "default" is the small GRU that ships in models/data.
    out->model_file = out->model == "default" ? std::string(MESHTWIN_DEFAULT_MODEL)
                                              : ResolvePath(r, *model, out->model);
    absl::StatusOr<std::unique_ptr<Forecaster>> m = LoadForecaster(out->model_file);
    if (!m.ok()) {
      return r.Fail(*model, absl::StrCat("expected naive, seasonal-naive, holt-winters, lstm, gru, "
                                         "default or a model file; ",
                                         m.status().message()));
    }
    out->step = (*m)->step();
    out->horizons = (*m)->horizons();
  }
  if (const Item* horizons = s.Find("horizons")) {
    if (!named)
      return s.Fail("horizons", "expected no horizons with a model file (it has its own)");
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                              ListItems(r, *horizons, "a list of durations"));
    if (items.empty()) return r.Fail(*horizons, "expected at least one horizon, got an empty list");
    out->horizons.clear();
    for (const Item& h : items) {
      MESHTWIN_RETURN_IF_ERROR(ReadDuration(r, h, Above(0), &out->horizons.emplace_back()));
      const double ratio = out->horizons.back() / out->step;
      if (std::fabs(ratio - std::round(ratio)) > 1e-9) {
        return r.Fail(h, absl::StrCat("expected a multiple of forecast.step (",
                                      FormatDuration(out->step), "), got ", Describe(h.node)));
      }
    }
  }
  const double per_tick = out->step / control_interval;
  if (std::fabs(per_tick - std::round(per_tick)) > 1e-9) {
    return s.FailAgainst(
        "step", {"control_interval"},
        absl::StrCat("expected a multiple of control_interval (", FormatDuration(control_interval),
                     "), got ", FormatDuration(out->step)));
  }
  MESHTWIN_RETURN_IF_ERROR(s.Duration("warmup", AtLeast(0), &out->warmup));
  MESHTWIN_RETURN_IF_ERROR(s.Bool("retrain", &out->retrain));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("retrain_cooldown", AtLeast(0), &out->retrain_cooldown));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("retrain_window", Above(0), &out->retrain_window));
  if (const Item* effect = s.Find("event_effect")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *effect, &out->event_effect));
    if (out->event_effect != "none" && out->event_effect != "magnitude") {
      return r.Fail(*effect,
                    absl::StrCat("expected none or magnitude, got ", Describe(effect->node)));
    }
  }
  if (const Item* variant = s.Find("variant")) {
    if (out->model != "lstm" && out->model != "gru") {
      return s.FailAgainst(
          "variant", {"model"},
          absl::StrCat("expected no variant unless model is lstm or gru (it chooses how a network "
                       "is trained; a model file is already trained), model is ",
                       out->model));
    }
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *variant, &out->variant));
    if (out->variant != "auto" && out->variant != "rich" && out->variant != "lean") {
      return r.Fail(*variant,
                    absl::StrCat("expected auto, rich or lean, got ", Describe(variant->node)));
    }
  }
  return absl::OkStatus();
}

// `dht: chord`, or a section with the protocol and its timings.
absl::Status ReadDht(const Reporter& r, const Item& item, Seconds control_interval, DhtSpec* out) {
  const Item* protocol = &item;
  std::optional<Section> section;
  if (!item.node.IsScalar()) {
    MESHTWIN_ASSIGN_OR_RETURN(
        section, Section::Open(r, item, {"protocol", "refresh", "ttl", "query_every"}));
    protocol = section->Find("protocol");
    if (protocol == nullptr) return section->Missing("protocol", "none, chord or kademlia");
  }
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *protocol, &out->protocol));
  if (out->protocol != "none" && out->protocol != "chord" && out->protocol != "kademlia") {
    return r.Fail(*protocol,
                  absl::StrCat("expected none, chord or kademlia, got ", Describe(protocol->node)));
  }
  out->query_every = control_interval;
  if (!section) return absl::OkStatus();
  MESHTWIN_RETURN_IF_ERROR(section->Duration("refresh", Above(0), &out->refresh));
  MESHTWIN_RETURN_IF_ERROR(section->Duration("ttl", Above(0), &out->ttl));
  MESHTWIN_RETURN_IF_ERROR(section->Duration("query_every", Above(0), &out->query_every));
  if (out->ttl <= out->refresh) {
    return section->FailAgainst(
        "ttl", {"refresh"},
        absl::StrCat("expected a duration above refresh (", FormatDuration(out->refresh),
                     "): a live node's record must not lapse between refreshes, got ",
                     FormatDuration(out->ttl)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// faults: (twin/faults.h).

constexpr int kMaxRacks = 10000;  // zones x racks_per_zone

std::string Plural(long long n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

// What reading one fault needs besides its own keys.
struct FaultContext {
  const Reporter& r;
  Seconds duration;  // the run's
  const std::vector<NodeTypeSpec>& types;
  const TopologySpec& topology;  // read before any fault
};

// `type: medium`: the index of that node type.
absl::Status ReadFaultType(const FaultContext& f, const Section& s, int* out) {
  const Item* item = s.Find("type");
  if (item == nullptr) return absl::OkStatus();
  std::string name;
  MESHTWIN_RETURN_IF_ERROR(ReadString(f.r, *item, &name));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < f.types.size(); ++i) {
    if (f.types[i].name == name) {
      *out = static_cast<int>(i);
      return absl::OkStatus();
    }
    names.push_back(f.types[i].name);
  }
  return f.r.FailAgainst(item->mark, item->path, {"node_types"},
                         absl::StrCat("expected a node type name (", absl::StrJoin(names, ", "),
                                      "), got ", Describe(item->node)));
}

// `at`: required, within the run.
absl::Status ReadFaultAt(const FaultContext& f, const Section& s, Seconds* out) {
  const std::string range = absl::StrCat("a duration in [0s, ", FormatDuration(f.duration), "]");
  const Item* at = s.Find("at");
  if (at == nullptr) return s.Missing("at", absl::StrCat(range, ", when the fault strikes"));
  MESHTWIN_RETURN_IF_ERROR(ReadDuration(f.r, *at, AtLeast(0), out));
  if (*out > f.duration) {
    return f.r.FailAgainst(
        at->mark, at->path, {"duration", "trace.file"},
        absl::StrCat("expected ", range, " (within the run's duration), got ", Describe(at->node)));
  }
  return absl::OkStatus();
}

// `duration`: how long a fault lasts, > 0 or `forever` (the default).
absl::Status ReadFaultDuration(const FaultContext& f, const Section& s, Seconds* out) {
  const Item* item = s.Find("duration");
  if (item == nullptr) return absl::OkStatus();
  constexpr absl::string_view kExpected = "forever or a duration > 0s such as 10m or 2h";
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(f.r, *item, kExpected));
  if (item->node.Scalar() == "forever") {
    *out = kForever;
    return absl::OkStatus();
  }
  absl::StatusOr<Seconds> value = ParseDuration(item->node.Scalar());
  if (!value.ok() || !(*value > 0)) {
    return f.r.Fail(*item, absl::StrCat("expected ", kExpected, ", got ", Describe(item->node)));
  }
  *out = *value;
  return absl::OkStatus();
}

// A zone or rack index, checked against faults.topology.
absl::Status ReadDomainIndex(const FaultContext& f, const Item& item, bool rack, int* out) {
  const TopologySpec& t = f.topology;
  const long long count = rack ? static_cast<long long>(t.zones) * t.racks_per_zone : t.zones;
  const std::string expected =
      rack ? absl::StrCat("a rack index in [0, ", count - 1, "] (faults.topology has ",
                          Plural(count, "rack"), ": ", Plural(t.zones, "zone"), " of ",
                          t.racks_per_zone, ")")
           : absl::StrCat("a zone index in [0, ", count - 1, "] (faults.topology has ",
                          Plural(count, "zone"), ")");
  long long value = -1;
  if (!item.node.IsScalar() || !ParseWhole(item.node.Scalar(), &value) || value < 0 ||
      value >= count) {
    // The keys the bound came from, so that a --set of one is blamed.
    std::vector<std::string> bound = {"faults.topology.zones"};
    if (rack) bound.push_back("faults.topology.racks_per_zone");
    return f.r.FailAgainst(item.mark, item.path, bound,
                           absl::StrCat("expected ", expected, ", got ", Describe(item.node)));
  }
  *out = static_cast<int>(value);
  return absl::OkStatus();
}

// Exactly one of `zone: Z`, `rack: R`, `aggregation: {zone: Z, switch: 0|1}`.
absl::Status ReadFailureDomain(const FaultContext& f, const Section& s, FailureDomain* out) {
  constexpr absl::string_view kKeys[] = {"zone", "rack", "aggregation"};
  constexpr absl::string_view kExpected = "exactly one of zone, rack or aggregation";
  std::vector<absl::string_view> given;
  for (absl::string_view key : kKeys) {
    if (s.Find(key) != nullptr) given.push_back(key);
  }
  if (given.empty()) {
    return f.r.Fail(s.self(),
                    absl::StrCat("expected ", kExpected, " (the failure domain), got none"));
  }
  if (given.size() > 1) {
    // Reported at the one written last: the one that made it two.
    std::sort(given.begin(), given.end(), [&s](absl::string_view a, absl::string_view b) {
      return s.Find(a)->mark.pos < s.Find(b)->mark.pos;
    });
    return s.FailAgainst(
        given.back(), {given.front()},
        absl::StrCat("expected ", kExpected, ", got ", absl::StrJoin(given, " and ")));
  }
  const Item& item = *s.Find(given.front());
  if (given.front() == "zone") {
    out->kind = FailureDomain::Kind::kZone;
    return ReadDomainIndex(f, item, false, &out->index);
  }
  if (given.front() == "rack") {
    out->kind = FailureDomain::Kind::kRack;
    return ReadDomainIndex(f, item, true, &out->index);
  }
  out->kind = FailureDomain::Kind::kAggregation;
  MESHTWIN_ASSIGN_OR_RETURN(Section as, Section::Open(f.r, item, {"zone", "switch"}));
  const Item* zone = as.Find("zone");
  if (zone == nullptr) return as.Missing("zone", "a zone index");
  MESHTWIN_RETURN_IF_ERROR(ReadDomainIndex(f, *zone, false, &out->index));
  return as.Int("switch", Closed(0, 1), &out->switch_index);
}

// `latency: 20` or `20x`: a factor on the links' latency.
absl::Status ReadLatencyFactor(const FaultContext& f, const Section& s, double* out) {
  const Item* item = s.Find("latency");
  if (item == nullptr) return absl::OkStatus();
  constexpr absl::string_view kExpected = "a latency factor >= 1 such as 20 or 20x";
  MESHTWIN_RETURN_IF_ERROR(ExpectScalar(f.r, *item, kExpected));
  absl::string_view text = item->node.Scalar();
  if (!text.empty() && (text.back() == 'x' || text.back() == 'X')) text.remove_suffix(1);
  double value = 0;
  if (!ParseWhole(text, &value) || !std::isfinite(value) || value < 1) {
    return f.r.Fail(*item, absl::StrCat("expected ", kExpected, ", got ", Describe(item->node)));
  }
  *out = value;
  return absl::OkStatus();
}

// The elements of faults.KEY, each opened as a section with `keys`.
absl::StatusOr<std::vector<Section>> FaultList(const FaultContext& f, const Section& faults,
                                               absl::string_view key,
                                               std::vector<absl::string_view> keys) {
  std::vector<Section> out;
  const Item* list = faults.Find(key);
  if (list == nullptr) return out;
  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<Item> items,
      ListItems(f.r, *list, absl::StrCat("a list of {", absl::StrJoin(keys, ", "), "}")));
  for (const Item& item : items) {
    MESHTWIN_ASSIGN_OR_RETURN(Section s, Section::Open(f.r, item, keys));
    out.push_back(std::move(s));
  }
  return out;
}

absl::Status ReadDetection(const Reporter& r, const Item& item, DetectionSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Section s,
                            Section::Open(r, item,
                                          {"heartbeat_misses", "replace", "anomaly", "threshold",
                                           "max_isolations", "window", "max_isolated_fraction"}));
  MESHTWIN_RETURN_IF_ERROR(s.Int("heartbeat_misses", Closed(1, 100000), &out->heartbeat_misses));
  MESHTWIN_RETURN_IF_ERROR(s.Bool("replace", &out->replace));
  if (const Item* anomaly = s.Find("anomaly")) {
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *anomaly, &out->anomaly));
    if (out->anomaly != "robust-z" && out->anomaly != "forecast-residual" &&
        out->anomaly != "none") {
      return r.Fail(*anomaly, absl::StrCat("expected robust-z, forecast-residual or none, got ",
                                           Describe(anomaly->node)));
    }
  }
  MESHTWIN_RETURN_IF_ERROR(s.Number("threshold", AtLeast(0), &out->threshold));
  MESHTWIN_RETURN_IF_ERROR(s.Int("max_isolations", Closed(0, 100000), &out->max_isolations));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("window", Above(0), &out->window));
  MESHTWIN_RETURN_IF_ERROR(
      s.Number("max_isolated_fraction", Closed(0, 1), &out->max_isolated_fraction));
  return absl::OkStatus();
}

// The faults: section; present (even empty) turns fault injection on.
absl::Status ReadFaults(const Reporter& r, const Item& item, const Scenario& scenario,
                        FaultsSpec* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Section s, Section::Open(r, item,
                                                     {"topology", "mtbf", "crashes", "domains",
                                                      "gray", "links", "manager", "detection"}));
  out->enabled = true;
  TopologySpec& topology = out->topology;
  if (const Item* t = s.Find("topology")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section ts,
                              Section::Open(r, *t, {"zones", "racks_per_zone", "hop_latency"}));
    MESHTWIN_RETURN_IF_ERROR(ts.Int("zones", Closed(1, kMaxRacks), &topology.zones));
    MESHTWIN_RETURN_IF_ERROR(
        ts.Int("racks_per_zone", Closed(1, kMaxRacks), &topology.racks_per_zone));
    const long long racks = static_cast<long long>(topology.zones) * topology.racks_per_zone;
    if (racks > kMaxRacks) {
      return ts.FailAgainst(
          "racks_per_zone", {"zones"},
          absl::StrCat("expected at most ", kMaxRacks,
                       " racks in all (zones x racks_per_zone), got ", topology.zones, " x ",
                       topology.racks_per_zone, " = ", racks));
    }
    MESHTWIN_RETURN_IF_ERROR(ts.Duration("hop_latency", AtLeast(0), &topology.hop_latency));
  }
  const FaultContext f{r, scenario.duration, scenario.node_types, topology};

  if (const Item* m = s.Find("mtbf")) {
    std::vector<absl::string_view> names;
    for (const NodeTypeSpec& t : scenario.node_types) names.push_back(t.name);
    MESHTWIN_ASSIGN_OR_RETURN(Section ms, Section::Open(r, *m, names));
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (ms.Find(names[i]) == nullptr) continue;
      MtbfSpec& spec = out->mtbf.emplace_back();
      spec.node_type = static_cast<int>(i);
      MESHTWIN_RETURN_IF_ERROR(ms.Duration(names[i], Above(0), &spec.mtbf));
    }
  }

  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Section> crashes,
                            FaultList(f, s, "crashes", {"at", "count", "type"}));
  for (const Section& cs : crashes) {
    CrashSpec& spec = out->crashes.emplace_back();
    MESHTWIN_RETURN_IF_ERROR(ReadFaultAt(f, cs, &spec.at));
    MESHTWIN_RETURN_IF_ERROR(cs.Int("count", Closed(1, kMaxNodesPerType), &spec.count));
    MESHTWIN_RETURN_IF_ERROR(ReadFaultType(f, cs, &spec.node_type));
  }

  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<Section> domains,
      FaultList(f, s, "domains", {"at", "zone", "rack", "aggregation", "duration"}));
  for (const Section& ds : domains) {
    DomainFailureSpec& spec = out->domains.emplace_back();
    MESHTWIN_RETURN_IF_ERROR(ReadFaultAt(f, ds, &spec.at));
    MESHTWIN_RETURN_IF_ERROR(ReadFailureDomain(f, ds, &spec.domain));
    MESHTWIN_RETURN_IF_ERROR(ReadFaultDuration(f, ds, &spec.duration));
  }

  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<Section> gray,
      FaultList(f, s, "gray", {"at", "count", "type", "speed", "error_rate", "duration"}));
  for (const Section& gs : gray) {
    GraySpec& spec = out->gray.emplace_back();
    MESHTWIN_RETURN_IF_ERROR(ReadFaultAt(f, gs, &spec.at));
    MESHTWIN_RETURN_IF_ERROR(gs.Int("count", Closed(1, kMaxNodesPerType), &spec.count));
    MESHTWIN_RETURN_IF_ERROR(ReadFaultType(f, gs, &spec.node_type));
    MESHTWIN_RETURN_IF_ERROR(gs.Number("speed", Range{0, 1, true, false}, &spec.speed));
    MESHTWIN_RETURN_IF_ERROR(gs.Number("error_rate", Closed(0, 1), &spec.error_rate));
    MESHTWIN_RETURN_IF_ERROR(ReadFaultDuration(f, gs, &spec.duration));
    if (spec.speed >= 1 && spec.error_rate <= 0) {
      const Item& self = gs.self();
      return r.FailAgainst(self.mark, self.path,
                           {ChildPath(self.path, "speed"), ChildPath(self.path, "error_rate")},
                           "expected speed < 1 or error_rate > 0 (a gray failure must slow nodes "
                           "or fail requests), got speed 1 and error_rate 0");
    }
  }

  MESHTWIN_ASSIGN_OR_RETURN(
      std::vector<Section> links,
      FaultList(f, s, "links",
                {"at", "zone", "rack", "aggregation", "latency", "loss", "cut", "duration"}));
  for (const Section& ls : links) {
    LinkFaultSpec& spec = out->links.emplace_back();
    MESHTWIN_RETURN_IF_ERROR(ReadFaultAt(f, ls, &spec.at));
    MESHTWIN_RETURN_IF_ERROR(ReadFailureDomain(f, ls, &spec.domain));
    MESHTWIN_RETURN_IF_ERROR(ReadLatencyFactor(f, ls, &spec.latency));
    MESHTWIN_RETURN_IF_ERROR(ls.Number("loss", Range{0, 1, false, true}, &spec.loss));
    MESHTWIN_RETURN_IF_ERROR(ls.Bool("cut", &spec.cut));
    MESHTWIN_RETURN_IF_ERROR(ReadFaultDuration(f, ls, &spec.duration));
    if (spec.latency <= 1 && spec.loss <= 0 && !spec.cut) {
      const Item& self = ls.self();
      return r.FailAgainst(self.mark, self.path,
                           {ChildPath(self.path, "latency"), ChildPath(self.path, "loss"),
                            ChildPath(self.path, "cut")},
                           "expected latency > 1, loss > 0 or cut: true (a link fault must change "
                           "something), got none of them");
    }
  }

  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Section> manager,
                            FaultList(f, s, "manager", {"at", "duration"}));
  for (const Section& ms : manager) {
    ManagerCrashSpec& spec = out->manager.emplace_back();
    MESHTWIN_RETURN_IF_ERROR(ReadFaultAt(f, ms, &spec.at));
    MESHTWIN_RETURN_IF_ERROR(ms.Duration("duration", Above(0), &spec.duration));
  }

  if (const Item* detection = s.Find("detection")) {
    MESHTWIN_RETURN_IF_ERROR(ReadDetection(r, *detection, &out->detection));
  }
  return absl::OkStatus();
}

// The whole document, in key order of default.yaml.
absl::Status ReadScenario(const Reporter& r, const Item& root, Scenario* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section top, Section::Open(r, root,
                                 {"name", "description", "seed", "duration", "control_interval",
                                  "platform", "node_types", "workload", "roles", "slo", "trace",
                                  "forecast", "dht", "faults", "policy"}));
  const Item* name = top.Find("name");
  if (name == nullptr) return top.Missing("name", "a scenario name");
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *name, &out->name));
  if (out->name.empty()) {
    return r.Fail(*name, "expected a non-empty scenario name, got an empty string");
  }
  MESHTWIN_RETURN_IF_ERROR(top.String("description", &out->description));
  if (const Item* seed = top.Find("seed")) {
    MESHTWIN_RETURN_IF_ERROR(ReadSeed(r, *seed, &out->seed));
  }
  MESHTWIN_RETURN_IF_ERROR(
      top.Duration("duration", Range{0, kMaxDuration, true, false}, &out->duration));
  MESHTWIN_RETURN_IF_ERROR(top.Duration("control_interval", Above(0), &out->control_interval));
  if (out->control_interval > out->duration) {
    return top.FailAgainst(
        "control_interval", {"duration"},
        absl::StrCat("expected a duration <= duration (", FormatDuration(out->duration), "), got ",
                     FormatDuration(out->control_interval)));
  }

  if (const Item* platform = top.Find("platform")) {
    MESHTWIN_ASSIGN_OR_RETURN(Section s,
                              Section::Open(r, *platform, {"link_latency", "link_bandwidth"}));
    MESHTWIN_RETURN_IF_ERROR(s.Duration("link_latency", AtLeast(0), &out->platform.link_latency));
    MESHTWIN_RETURN_IF_ERROR(
        s.Bandwidth("link_bandwidth", Above(0), &out->platform.link_bandwidth));
  }

  constexpr absl::string_view kTypesExpected = "a non-empty list of node types";
  const Item* types = top.Find("node_types");
  if (types == nullptr) return top.Missing("node_types", kTypesExpected);
  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> type_items, ListItems(r, *types, kTypesExpected));
  if (type_items.empty()) {
    return r.Fail(*types, absl::StrCat("expected ", kTypesExpected, ", got an empty list"));
  }
  for (const Item& type_item : type_items) {
    NodeTypeSpec spec;
    MESHTWIN_RETURN_IF_ERROR(ReadNodeType(r, type_item, out->node_types, &spec));
    out->node_types.push_back(std::move(spec));
  }

  if (const Item* workload = top.Find("workload")) {
    MESHTWIN_RETURN_IF_ERROR(ReadWorkload(r, *workload, &out->workload));
  }
  if (const Item* roles = top.Find("roles")) {
    MESHTWIN_RETURN_IF_ERROR(ReadRoles(r, *roles, &out->roles));
  }

  if (const Item* slo = top.Find("slo")) {
    MESHTWIN_ASSIGN_OR_RETURN(
        Section s,
        Section::Open(r, *slo, {"latency_target", "utilization_ceiling", "drops_violate"}));
    MESHTWIN_RETURN_IF_ERROR(s.Duration("latency_target", AtLeast(0), &out->slo.latency_target));
    MESHTWIN_RETURN_IF_ERROR(
        s.Number("utilization_ceiling", Above(0), &out->slo.utilization_ceiling));
    MESHTWIN_RETURN_IF_ERROR(s.Bool("drops_violate", &out->slo.drops_violate));
  }

  if (const Item* trace = top.Find("trace")) {
    MESHTWIN_RETURN_IF_ERROR(ReadTrace(r, *trace, out->duration, &out->trace));
  }
  if (const Item* forecast = top.Find("forecast")) {
    MESHTWIN_RETURN_IF_ERROR(ReadForecast(r, *forecast, out->control_interval, &out->forecast));
  }
  out->dht.query_every = out->control_interval;
  if (const Item* dht = top.Find("dht")) {
    MESHTWIN_RETURN_IF_ERROR(ReadDht(r, *dht, out->control_interval, &out->dht));
  }
  if (const std::shared_ptr<const Trace>& t = out->trace.loaded) {
    // A replay runs for the length of its trace unless told otherwise, and
    // never past its end (the simulator would invent the missing demand).
    const Seconds length = t->end() - t->start;
    if (top.Find("duration") == nullptr) {
      out->duration = length;
    } else if (out->duration > length + 1e-9) {
      return top.FailAgainst(
          "duration", {"trace"},
          absl::StrCat("expected a duration <= the trace's length (", FormatDuration(length),
                       " of ", out->trace.file, "), got ", FormatDuration(out->duration)));
    }
    if (out->control_interval > out->duration) {
      return top.FailAgainst(
          "control_interval", {"duration", "trace"},
          absl::StrCat("expected a duration <= the run's duration (", FormatDuration(out->duration),
                       "), got ", FormatDuration(out->control_interval)));
    }
  }
  // After the trace, which may have set the run's duration the faults' times
  // are checked against.
  if (const Item* faults = top.Find("faults")) {
    MESHTWIN_RETURN_IF_ERROR(ReadFaults(r, *faults, *out, &out->faults));
  }
  return ReadPolicy(r, top, out);
}

// ---------------------------------------------------------------------------
// Overrides.

absl::Status OverrideError(absl::string_view key, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--set ", key, ": ", what));
}

// The value of `key` in mapping `map`, if any. Walks the pairs instead of
// map[key] because yaml-cpp's non-const operator[] inserts.
std::optional<YAML::Node> FindKey(const YAML::Node& map, absl::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return YAML::Node(it->second);
  }
  return std::nullopt;
}

// Applies one "dotted.key=value" to the tree; returns what was written where.
absl::StatusOr<AppliedOverride> ApplyOverride(YAML::Node root, absl::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == absl::string_view::npos) {
    return OverrideError(text,
                         "expected KEY=VALUE (e.g. policy.target_utilization=0.5), got no '='");
  }
  const std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
  const std::string value_text(text.substr(eq + 1));
  const std::vector<std::string> segments = absl::StrSplit(key, '.');
  for (const std::string& segment : segments) {
    if (segment.empty()) {
      return OverrideError(key.empty() ? text : key,
                           absl::StrCat("expected a dotted key such as node_types.1.max, got ",
                                        key.empty() ? "an empty key" : key));
    }
  }
  // A scalar or a flow collection ({...}, [...], "..."). Anything else that
  // YAML would read as a block mapping or fails on ("Launch: now") is taken
  // as plain text, which is what a shell user means by it.
  const std::string trimmed(absl::StripAsciiWhitespace(value_text));
  const bool flow =
      !trimmed.empty() && absl::string_view("{[\"'").find(trimmed[0]) != absl::string_view::npos;
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
    if (!flow && (value.IsMap() || value.IsSequence())) value.reset(YAML::Node(trimmed));
  } catch (const YAML::Exception& e) {
    if (flow) {
      return OverrideError(
          key, absl::StrCat("expected a YAML value, got ", Shorten(value_text), " (", e.msg, ")"));
    }
    value.reset(YAML::Node(trimmed));
  }

  // `current` is rebound with reset(): assigning a yaml-cpp Node to another
  // overwrites the first one's contents in the tree.
  YAML::Node current;
  current.reset(root);
  std::string path;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (current.IsSequence()) {
      std::optional<std::size_t> index;
      std::size_t parsed = 0;
      if (ParseWhole(segment, &parsed) && segment.front() != '+') index = parsed;
      const bool by_name = path == "node_types";
      if (!index && by_name) {
        for (std::size_t j = 0; j < current.size(); ++j) {
          if (!current[j].IsMap()) continue;
          const std::optional<YAML::Node> name = FindKey(current[j], "name");
          if (name && name->IsScalar() && name->Scalar() == segment) index = j;
        }
      }
      if (!index || *index >= current.size()) {
        return OverrideError(key, absl::StrCat("expected an index below ", current.size(),
                                               by_name ? " or a node type name" : "", " after ",
                                               path, ", got ", segment));
      }
      path = absl::StrCat(path, "[", *index, "]");
      YAML::Node element = current[*index];
      if (last) {
        element = value;  // replaces the element in place
      } else {
        current.reset(element);
      }
      continue;
    }
    if (!current.IsMap() && !current.IsNull()) {
      return OverrideError(
          key, absl::StrCat("expected ", path, " to be a section with keys, got the value ",
                            Describe(current)));
    }
    path = ChildPath(path, segment);
    if (last) {
      current[segment] = value;
      break;
    }
    std::optional<YAML::Node> child = FindKey(current, segment);
    if (!child || child->IsNull()) {
      // Create the section; an unknown name is caught by validation, which
      // then blames this --set.
      current[segment] = YAML::Node(YAML::NodeType::Map);
      child.reset();  // so the next line rebinds instead of assigning through
      child = FindKey(current, segment);
    }
    current.reset(*child);
  }
  return AppliedOverride{key, path};
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(std::string_view yaml_text, std::string_view source_name,
                                       const std::vector<std::string>& overrides) {
  const std::string source(source_name);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    const YAML::Mark mark = e.mark.is_null() ? YAML::Mark() : e.mark;
    return absl::InvalidArgumentError(absl::StrCat(source, ":", mark.line + 1, ":", mark.column + 1,
                                                   ": (syntax): expected valid YAML, got ", e.msg));
  }
  const Reporter plain(source, {});
  if (documents.empty() || documents[0].IsNull()) {
    return plain.Fail(YAML::Mark(), "",
                      "expected a mapping of scenario keys (name, node_types, ...), got an empty "
                      "document");
  }
  if (documents.size() > 1) {
    return plain.Fail(documents[1].Mark(), "",
                      "expected a single YAML document, got a second one (---)");
  }
  YAML::Node root = documents[0];
  if (!root.IsMap()) {
    return plain.Fail(root.Mark(), "",
                      absl::StrCat("expected a mapping of scenario keys (name, node_types, ...), "
                                   "got ",
                                   root.IsSequence() ? "a list" : Describe(root)));
  }

  std::vector<AppliedOverride> applied;
  for (const std::string& text : overrides) {
    MESHTWIN_ASSIGN_OR_RETURN(AppliedOverride o, ApplyOverride(root, text));
    applied.push_back(std::move(o));
  }

  Scenario scenario;
  scenario.source = source;
  scenario.text = std::string(yaml_text);
  scenario.overrides = overrides;
  const Reporter reporter(source, std::move(applied));
  MESHTWIN_RETURN_IF_ERROR(ReadScenario(reporter, Item{root, "", root.Mark()}, &scenario));
  return scenario;
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path,
                                          const std::vector<std::string>& overrides) {
  auto cannot_read = [&path](int error) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read: ", std::strerror(error)));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return cannot_read(errno);
  std::string text;
  char buffer[1 << 14];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  // A directory opens fine on Linux and fails only here, with EISDIR.
  const int read_error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (read_error != 0) return cannot_read(read_error);
  return ParseScenario(text, path, overrides);
}

Trace BuildTrace(const Scenario& scenario) {
  switch (scenario.trace.kind) {
    case TraceSpec::Kind::kFile:
      return *scenario.trace.loaded;
    case TraceSpec::Kind::kPreset: {
      // Validated when the scenario was parsed; the seed is the scenario's.
      absl::StatusOr<Trace> t = GeneratePreset(scenario.trace.preset,
                                               std::ceil(scenario.duration / 86400), scenario.seed);
      return t.ok() ? *std::move(t) : Trace{};
    }
    case TraceSpec::Kind::kSynthetic:
      break;
  }
  return GenerateDiurnal(scenario.trace.synthetic, scenario.duration, scenario.seed);
}

absl::StatusOr<std::unique_ptr<Policy>> MakePolicy(const Scenario& scenario, const Trace& trace) {
  // A Scenario built by hand rather than parsed may name no valid pool.
  if (scenario.hpa.node_type < 0 ||
      static_cast<std::size_t>(scenario.hpa.node_type) >= scenario.node_types.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(scenario.source, ": policy.pool: expected a node type index below ",
                     scenario.node_types.size(), ", got ", scenario.hpa.node_type));
  }
  PoolSizing sizing{scenario.node_types, scenario.workload, scenario.slo, scenario.hpa.node_type};
  std::vector<std::unique_ptr<Policy>> parts;
  if (scenario.policy == "hpa") {
    parts.push_back(std::make_unique<HpaPolicy>(scenario.hpa));
  } else if (scenario.policy == "predictive") {
    parts.push_back(std::make_unique<PredictivePolicy>(sizing, scenario.predictive));
  } else if (scenario.policy == "oracle") {
    auto demand = [](std::shared_ptr<const Trace> t) -> DemandFunction {
      return [t](Seconds t0, Seconds t1) { return t->MeanRate(t->start + t0, t->start + t1); };
    };
    std::vector<DemandFunction> by_role;
    if (scenario.roles.size() > 1) {
      for (Trace& t : RoleTraces(scenario, trace)) {
        by_role.push_back(demand(std::make_shared<const Trace>(std::move(t))));
      }
    }
    parts.push_back(std::make_unique<OraclePolicy>(
        sizing, scenario.oracle, demand(std::make_shared<const Trace>(trace)), std::move(by_role)));
  } else if (scenario.policy == "none") {
    parts.push_back(std::make_unique<StaticPolicy>());
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        scenario.source, ": policy.name: expected hpa, predictive, oracle or none, got ",
        scenario.policy));
  }
  // The oracle places capacity in each role itself (it knows every role's
  // future demand); role assignment on top would only undo that.
  if (scenario.roles_enabled && scenario.policy != "oracle") {
    parts.push_back(std::make_unique<RoleAssignmentPolicy>(scenario.role_assignment));
  }
  if (scenario.shifting_enabled)
    parts.push_back(std::make_unique<ShiftingPolicy>(scenario.shifting));
  if (scenario.admission_enabled) {
    parts.push_back(std::make_unique<AdmissionPolicy>(scenario.admission));
  }
  // With faults, the control loop heals: silent nodes are replaced, suspects
  // isolated then replaced.
  if (scenario.faults.enabled) {
    RemediationOptions options;
    options.detection = scenario.faults.detection;
    absl::StatusOr<std::unique_ptr<RemediationPolicy>> remediation =
        RemediationPolicy::Create(options);
    if (!remediation.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(scenario.source, ": faults.detection: ", remediation.status().message()));
    }
    parts.push_back(*std::move(remediation));
  }
  if (parts.size() == 1) return std::move(parts.front());
  return std::unique_ptr<Policy>(std::make_unique<CompositePolicy>(std::move(parts)));
}

absl::StatusOr<std::unique_ptr<ForecastPipeline>> MakeForecastPipeline(const Scenario& scenario,
                                                                       double epoch_unix,
                                                                       std::vector<Event> events) {
  const ForecastSpec& spec = scenario.forecast;
  ForecasterOptions options;
  options.horizons = spec.horizons;
  options.seed = scenario.seed;
  options.threads = 1;  // bit-reproducible runs
  options.variant = spec.variant;
  std::unique_ptr<Forecaster> model;
  std::string kind = spec.model;
  ForecastPipelineOptions po;
  if (!spec.model_file.empty()) {
    MESHTWIN_ASSIGN_OR_RETURN(model, LoadForecaster(spec.model_file));
    kind = model->name();
    options.horizons = model->horizons();
  } else {
    MESHTWIN_ASSIGN_OR_RETURN(model, MakeForecaster(spec.model, options));
    po.fit_on_warmup = true;
    po.step = spec.step;
  }
  const Seconds step = po.step > 0 ? po.step : model->step();
  po.min_history =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(spec.warmup / step)));
  po.retrain = spec.retrain;
  po.retrain_cooldown = spec.retrain_cooldown;
  po.retrain_window = spec.retrain_window;
  po.event_magnitude = spec.event_effect == "magnitude";
  auto make = [kind, options]() -> std::unique_ptr<Forecaster> {
    absl::StatusOr<std::unique_ptr<Forecaster>> m = MakeForecaster(kind, options);
    return m.ok() ? *std::move(m) : nullptr;
  };
  return std::make_unique<ForecastPipeline>(std::move(model), po, make, epoch_unix,
                                            std::move(events));
}

std::vector<Trace> RoleTraces(const Scenario& scenario, const Trace& trace) {
  std::vector<Trace> out;
  if (scenario.roles.empty()) {
    out.push_back(trace);
    return out;
  }
  double share_sum = 0;
  for (const RoleSpec& role : scenario.roles) share_sum += role.share;
  for (const RoleSpec& role : scenario.roles) {
    Trace& t = out.emplace_back();
    t.start = trace.start;
    t.step = trace.step;
    t.epoch = trace.epoch;
    t.provenance = "role " + role.name;
    const TraceChannel* channel = nullptr;
    for (const TraceChannel& c : trace.channels) {
      if (c.kind == "role" && c.name == role.name) channel = &c;
    }
    if (channel != nullptr) {
      t.demand = channel->values;
    } else {
      const double f = share_sum > 0 ? role.share / share_sum : 0;
      t.demand.reserve(trace.demand.size());
      for (double v : trace.demand) t.demand.push_back(v * f);
    }
  }
  return out;
}

}  // namespace meshtwin
