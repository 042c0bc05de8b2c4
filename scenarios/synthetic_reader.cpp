// Reading `trace.synthetic`: every DiurnalParams field has a key; see
// scenarios/README.md for the keys and datasets/GENERATORS.md for what the
// generator does with them.
//
// Internals take absl::string_view, not std::string_view: Debian's abseil is
// built with its own string_view type, the only one absl::StrCat accepts.
#include "scenarios/synthetic_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "datasets/timestamp.h"

namespace meshtwin {
namespace {

using namespace scenario_yaml;  // NOLINT: the reader vocabulary of this folder

// An hour of the day: [0, 24).
const Range kHourOfDay{0, 24, false, true};

// Role names become trace channel names and are matched by spikes and by the
// scenario's top-level roles, so they follow the node type name rules.
bool IsValidRoleName(absl::string_view name) {
  if (name.empty() ||
      !(absl::ascii_isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// `role` of a spike or recurring spike: must name one of `roles` when there
// are any (without roles the generator ignores it; see README).
absl::Status ReadSpikeRole(const Reporter& r, const Section& s, absl::string_view roles_path,
                           const std::vector<RoleParams>& roles, std::string* out) {
  const Item* item = s.Find("role");
  if (item == nullptr) return absl::OkStatus();
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *item, out));
  if (roles.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  for (const RoleParams& role : roles) names.push_back(role.name);
  if (std::find(names.begin(), names.end(), *out) == names.end()) {
    return r.FailAgainst(item->mark, item->path, {std::string(roles_path)},
                         absl::StrCat("expected a role of ", roles_path, " (",
                                      absl::StrJoin(names, ", "), "), got ", Describe(item->node)));
  }
  return absl::OkStatus();
}

absl::Status ReadSpike(const Reporter& r, const Item& item, absl::string_view roles_path,
                       const std::vector<RoleParams>& roles, SpikeParams* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, item,
                               {"start", "announced", "lead_time", "ramp", "hold", "decay",
                                "magnitude", "baseline_after", "category", "text", "role"}));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("start", AtLeast(0), &out->start));
  // Absent or null: unannounced (SpikeParams' -1), so forecasters only learn
  // of it when it starts.
  out->announced = -1;
  const Item* announced = s.Find("announced");
  if (announced != nullptr && !announced->node.IsNull()) {
    MESHTWIN_RETURN_IF_ERROR(ReadDuration(r, *announced, AtLeast(0), &out->announced));
    if (out->announced > out->start) {
      return r.FailAgainst(
          announced->mark, announced->path, {ChildPath(item.path, "start")},
          absl::StrCat("expected a duration <= start (", FormatDuration(out->start), "), got ",
                       Describe(announced->node)));
    }
  }
  // Two ways of saying when it became known: the generator would silently
  // prefer lead_time, so both at once is refused.
  out->lead_time = -1;
  if (const Item* lead = s.Find("lead_time"); lead != nullptr && !lead->node.IsNull()) {
    if (announced != nullptr && !announced->node.IsNull()) {
      return r.FailAgainst(lead->mark, lead->path, {announced->path},
                           "expected either announced or lead_time, got both");
    }
    MESHTWIN_RETURN_IF_ERROR(ReadDuration(r, *lead, AtLeast(0), &out->lead_time));
  }
  MESHTWIN_RETURN_IF_ERROR(s.Duration("ramp", AtLeast(0), &out->ramp));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("hold", AtLeast(0), &out->hold));
  // 0 is allowed: the generator then ends the spike at once after the hold.
  MESHTWIN_RETURN_IF_ERROR(s.Duration("decay", AtLeast(0), &out->decay));
  MESHTWIN_RETURN_IF_ERROR(s.Number("magnitude", AtLeast(0), &out->magnitude));
  MESHTWIN_RETURN_IF_ERROR(s.Number("baseline_after", AtLeast(0), &out->baseline_after));
  MESHTWIN_RETURN_IF_ERROR(s.String("category", &out->category));
  MESHTWIN_RETURN_IF_ERROR(s.String("text", &out->text));
  return ReadSpikeRole(r, s, roles_path, roles, &out->role);
}

constexpr std::array<absl::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                        "fri", "sat", "sun"};
constexpr std::array<absl::string_view, 7> kFullDayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr absl::string_view kWeekdaysExpected =
    "weekdays, weekends, every day, a day name (mon ... sun) or a list of day names";

// Bit of a day name (mon or monday, any case), if it is one.
std::optional<unsigned> DayBit(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (std::size_t d = 0; d < kDayNames.size(); ++d) {
    if (lower == kDayNames[d] || lower == kFullDayNames[d]) return 1U << d;
  }
  return std::nullopt;
}

absl::Status ReadWeekdays(const Reporter& r, const Item& item, unsigned* out) {
  if (item.node.IsScalar()) {
    const std::string lower = absl::AsciiStrToLower(item.node.Scalar());
    if (lower == "weekdays") {
      *out = 0x1F;
    } else if (lower == "weekends") {
      *out = 0x60;
    } else if (lower == "every day" || lower == "daily") {
      *out = 0x7F;
    } else if (std::optional<unsigned> bit = DayBit(lower)) {
      *out = *bit;
    } else {
      return r.Fail(item,
                    absl::StrCat("expected ", kWeekdaysExpected, ", got ", Describe(item.node)));
    }
    return absl::OkStatus();
  }
  if (!item.node.IsSequence()) {
    return r.Fail(item,
                  absl::StrCat("expected ", kWeekdaysExpected, ", got ", Describe(item.node)));
  }
  MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> days, ListItems(r, item, kWeekdaysExpected));
  if (days.empty()) {
    return r.Fail(item, "expected at least one day name (mon ... sun), got an empty list");
  }
  unsigned mask = 0;
  for (const Item& day : days) {
    std::optional<unsigned> bit =
        day.node.IsScalar() ? DayBit(day.node.Scalar()) : std::optional<unsigned>();
    if (!bit) {
      return r.Fail(day, absl::StrCat("expected a day name (mon, tue, wed, thu, fri, sat, sun), "
                                      "got ",
                                      Describe(day.node)));
    }
    if ((mask & *bit) != 0) {
      return r.Fail(
          day, absl::StrCat("expected each day once, got ", day.node.Scalar(), " a second time"));
    }
    mask |= *bit;
  }
  *out = mask;
  return absl::OkStatus();
}

absl::Status ReadRecurring(const Reporter& r, const Item& item, absl::string_view roles_path,
                           const std::vector<RoleParams>& roles, RecurringSpikeParams* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, item,
                               {"local_hour", "weekdays", "ramp", "hold", "decay", "magnitude",
                                "magnitude_jitter", "lead_time", "category", "text", "role"}));
  MESHTWIN_RETURN_IF_ERROR(s.Number("local_hour", kHourOfDay, &out->local_hour));
  if (const Item* weekdays = s.Find("weekdays")) {
    MESHTWIN_RETURN_IF_ERROR(ReadWeekdays(r, *weekdays, &out->weekdays));
  }
  MESHTWIN_RETURN_IF_ERROR(s.Duration("ramp", AtLeast(0), &out->ramp));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("hold", AtLeast(0), &out->hold));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("decay", AtLeast(0), &out->decay));
  MESHTWIN_RETURN_IF_ERROR(s.Number("magnitude", AtLeast(0), &out->magnitude));
  // Beyond 1 an occurrence's excess could change sign.
  MESHTWIN_RETURN_IF_ERROR(s.Number("magnitude_jitter", Closed(0, 1), &out->magnitude_jitter));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("lead_time", AtLeast(0), &out->lead_time));
  MESHTWIN_RETURN_IF_ERROR(s.String("category", &out->category));
  MESHTWIN_RETURN_IF_ERROR(s.String("text", &out->text));
  return ReadSpikeRole(r, s, roles_path, roles, &out->role);
}

absl::Status ReadRole(const Reporter& r, const Item& item, absl::string_view roles_path,
                      const std::vector<RoleParams>& earlier, RoleParams* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s,
      Section::Open(r, item, {"name", "share", "daily_amplitude", "peak_hour", "weekend_factor"}));
  const Item* name = s.Find("name");
  if (name == nullptr) return s.Missing("name", "a role name such as web");
  MESHTWIN_RETURN_IF_ERROR(ReadString(r, *name, &out->name));
  if (!IsValidRoleName(out->name)) {
    return r.Fail(*name, absl::StrCat("expected a name of letters, digits, '_' and '-' starting "
                                      "with a letter or '_', got ",
                                      Describe(name->node)));
  }
  for (std::size_t i = 0; i < earlier.size(); ++i) {
    if (earlier[i].name == out->name) {
      return r.Fail(*name, absl::StrCat("expected a unique role name, got ", out->name,
                                        " again (also ", roles_path, "[", i, "])"));
    }
  }
  MESHTWIN_RETURN_IF_ERROR(s.Number("share", AtLeast(0), &out->share));
  MESHTWIN_RETURN_IF_ERROR(s.Number("daily_amplitude", Closed(0, 1), &out->daily_amplitude));
  MESHTWIN_RETURN_IF_ERROR(s.Number("peak_hour", kHourOfDay, &out->peak_hour));
  MESHTWIN_RETURN_IF_ERROR(s.Number("weekend_factor", AtLeast(0), &out->weekend_factor));
  return absl::OkStatus();
}

absl::Status ReadBusinessHours(const Reporter& r, const Item& item, BusinessHoursParams* out) {
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, item,
                               {"open_hour", "close_hour", "transition_hours", "lunch_hour",
                                "lunch_width_hours", "lunch_dip"}));
  MESHTWIN_RETURN_IF_ERROR(s.Number("open_hour", kHourOfDay, &out->open_hour));
  MESHTWIN_RETURN_IF_ERROR(s.Number("close_hour", Range{0, 24, true, false}, &out->close_hour));
  if (out->close_hour <= out->open_hour) {
    return s.FailAgainst("close_hour", {"open_hour"},
                         absl::StrCat("expected an hour after open_hour (", out->open_hour,
                                      "), got ", out->close_hour));
  }
  MESHTWIN_RETURN_IF_ERROR(s.Number("transition_hours", Closed(0, 12), &out->transition_hours));
  MESHTWIN_RETURN_IF_ERROR(s.Number("lunch_hour", kHourOfDay, &out->lunch_hour));
  MESHTWIN_RETURN_IF_ERROR(s.Number("lunch_width_hours", Closed(0, 24), &out->lunch_width_hours));
  MESHTWIN_RETURN_IF_ERROR(s.Number("lunch_dip", Closed(0, 1), &out->lunch_dip));
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadSynthetic(const Reporter& r, const Item& synthetic, DiurnalParams* out) {
  DiurnalParams& p = *out;
  MESHTWIN_ASSIGN_OR_RETURN(
      Section s, Section::Open(r, synthetic,
                               {"base_rps", "daily_amplitude", "peak_hour", "weekend_factor",
                                "noise", "step", "spikes", "epoch", "utc_offset_hours", "shape",
                                "business", "trend_per_day", "recurring", "roles"}));
  MESHTWIN_RETURN_IF_ERROR(s.Number("base_rps", AtLeast(0), &p.base_rps));
  MESHTWIN_RETURN_IF_ERROR(s.Number("daily_amplitude", Closed(0, 1), &p.daily_amplitude));
  MESHTWIN_RETURN_IF_ERROR(s.Number("peak_hour", kHourOfDay, &p.peak_hour));
  MESHTWIN_RETURN_IF_ERROR(s.Number("weekend_factor", AtLeast(0), &p.weekend_factor));
  MESHTWIN_RETURN_IF_ERROR(s.Number("noise", Closed(0, 1), &p.noise));
  MESHTWIN_RETURN_IF_ERROR(s.Duration("step", Range{0, 86400, true, false}, &p.step));

  if (const Item* epoch = s.Find("epoch")) {
    std::string text;
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *epoch, &text));
    absl::StatusOr<double> t = ParseTimestamp(text);
    if (!t.ok()) return r.Fail(*epoch, t.status().message());
    p.epoch = *t;
  }
  // Real zones span UTC-12 to UTC+14.
  MESHTWIN_RETURN_IF_ERROR(s.Number("utc_offset_hours", Closed(-12, 14), &p.utc_offset_hours));
  if (const Item* shape = s.Find("shape")) {
    std::string value;
    MESHTWIN_RETURN_IF_ERROR(ReadString(r, *shape, &value));
    if (value == "cosine") {
      p.shape = DailyShape::kCosine;
    } else if (value == "business-hours") {
      p.shape = DailyShape::kBusinessHours;
    } else {
      return r.Fail(*shape,
                    absl::StrCat("expected cosine or business-hours, got ", Describe(shape->node)));
    }
  }
  if (const Item* business = s.Find("business")) {
    if (p.shape != DailyShape::kBusinessHours) {
      return s.FailAgainst("business", {"shape"}, "expected only with shape: business-hours");
    }
    MESHTWIN_RETURN_IF_ERROR(ReadBusinessHours(r, *business, &p.business));
  }
  // Up to 100 %/day either way: a larger figure is a percentage written as a
  // number (5 for 5 %), which would swamp everything else within a day.
  MESHTWIN_RETURN_IF_ERROR(s.Number("trend_per_day", Closed(-1, 1), &p.trend_per_day));

  // Roles first: spikes name them.
  const std::string roles_path = ChildPath(synthetic.path, "roles");
  if (const Item* roles = s.Find("roles")) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                              ListItems(r, *roles, "a list of roles {name, share, ...}"));
    p.roles.clear();
    for (const Item& role : items) {
      RoleParams params;
      MESHTWIN_RETURN_IF_ERROR(ReadRole(r, role, roles_path, p.roles, &params));
      p.roles.push_back(std::move(params));
    }
  }
  if (!p.roles.empty()) {
    // Each role has its own cosine cycle; these keys would be silently unused.
    for (absl::string_view key : {"daily_amplitude", "peak_hour", "weekend_factor", "business"}) {
      if (s.Find(key) != nullptr) {
        return s.FailAgainst(key, {"roles"},
                             "expected no top-level daily cycle with roles (each role has its "
                             "own daily_amplitude, peak_hour and weekend_factor)");
      }
    }
    if (p.shape != DailyShape::kCosine) {
      return s.FailAgainst("shape", {"roles"},
                           "expected cosine with roles (roles always use the cosine shape), got "
                           "business-hours");
    }
  }

  if (const Item* spikes = s.Find("spikes")) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items, ListItems(r, *spikes, "a list of spikes"));
    p.spikes.clear();
    for (const Item& spike : items) {
      MESHTWIN_RETURN_IF_ERROR(ReadSpike(r, spike, roles_path, p.roles, &p.spikes.emplace_back()));
    }
  }
  if (const Item* recurring = s.Find("recurring")) {
    MESHTWIN_ASSIGN_OR_RETURN(std::vector<Item> items,
                              ListItems(r, *recurring, "a list of recurring spikes"));
    p.recurring.clear();
    for (const Item& each : items) {
      MESHTWIN_RETURN_IF_ERROR(
          ReadRecurring(r, each, roles_path, p.roles, &p.recurring.emplace_back()));
    }
  }
  return absl::OkStatus();
}

}  // namespace meshtwin
