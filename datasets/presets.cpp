#include "datasets/presets.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "datasets/splitmix.h"
#include "datasets/synthetic.h"
#include "datasets/text_util.h"
#include "datasets/timestamp.h"

namespace meshtwin {
namespace {

using text_util::Num;

constexpr double kDay = 86400;
constexpr double kHour = 3600;
constexpr double kMinute = 60;
constexpr double kMaxDays = 400;

// Every preset samples once a minute: fine enough for autoscaling loops that
// act every 15-60 s on spikes that ramp over minutes.
constexpr double kStep = 60;

// Unix time of a UTC date's midnight.
double UtcMidnight(int year, unsigned month, unsigned day) {
  return static_cast<double>(DaysFromCivil(year, month, day)) * kDay;
}

// Event placement for presets that choose event days at random (earnings
// dates): SplitMix64, a stream of its own, so it never disturbs the
// generator's noise.
class EventRng {
 public:
  explicit EventRng(std::uint64_t seed) : mix_(seed ^ 0x94D049BB133111EBULL) {}
  double NextUnit() { return mix_.Unit(); }

 private:
  SplitMix64 mix_;
};

// Consumer web: evening peak, slightly busier weekends, a daily digest push
// notification at midday and a weekly live stream.
DiurnalParams DiurnalWeb() {
  DiurnalParams p;
  p.base_rps = 5000;
  p.daily_amplitude = 0.6;
  p.peak_hour = 20.5;
  p.weekend_factor = 1.15;
  p.noise = 0.04;
  p.step = kStep;
  RecurringSpikeParams live;
  live.local_hour = 19;
  live.weekdays = 1U << 6;  // Sundays
  live.ramp = 10 * kMinute;
  live.hold = 90 * kMinute;
  live.decay = 30 * kMinute;
  live.magnitude = 2;
  live.magnitude_jitter = 0.2;
  live.lead_time = 3 * kDay;
  live.category = "media";
  live.text = "weekly live stream (Sunday 19:00)";
  p.recurring.push_back(live);
  // Midday, not in the evening, so the push does not become the daily peak.
  RecurringSpikeParams digest;
  digest.local_hour = 12;
  digest.weekdays = 0x7F;
  digest.ramp = 2 * kMinute;
  digest.hold = 10 * kMinute;
  digest.decay = 15 * kMinute;
  digest.magnitude = 1.5;
  digest.magnitude_jitter = 0.2;
  digest.lead_time = kDay;
  digest.category = "notification";
  digest.text = "daily digest push notification (12:00)";
  p.recurring.push_back(digest);
  return p;
}

// B2B SaaS in one time zone (UTC; no daylight saving time): a working-hours
// plateau with a lunch dip, quiet nights and weekends, 0.2 %/day growth.
DiurnalParams WeeklyBusiness() {
  DiurnalParams p;
  p.base_rps = 3000;
  p.shape = DailyShape::kBusinessHours;
  p.daily_amplitude = 0.7;  // nights at 0.3 x base, the plateau at 1.7 x base
  p.business.open_hour = 9;
  p.business.close_hour = 17.5;
  p.business.transition_hours = 1.5;
  p.business.lunch_hour = 12.5;
  p.business.lunch_width_hours = 1.5;
  p.business.lunch_dip = 0.2;
  p.weekend_factor = 0.6;
  p.noise = 0.03;
  p.trend_per_day = 0.002;
  p.step = kStep;
  RecurringSpikeParams monday;
  monday.local_hour = 8.75;
  monday.weekdays = 1U << 0;  // Mondays
  monday.ramp = 15 * kMinute;
  monday.hold = 30 * kMinute;
  monday.decay = 30 * kMinute;
  monday.magnitude = 2;
  monday.lead_time = 7 * kDay;
  monday.category = "business";
  monday.text = "start-of-week login surge (Monday 08:45)";
  p.recurring.push_back(monday);
  return p;
}

// A consumer web base curve for the event presets.
DiurnalParams WebBase(double base_rps, double peak_hour) {
  DiurnalParams p;
  p.base_rps = base_rps;
  p.daily_amplitude = 0.5;
  p.peak_hour = peak_hour;
  p.weekend_factor = 1.1;
  p.noise = 0.04;
  p.step = kStep;
  return p;
}

// Announced the day before; 4x within 15 minutes; settles at 1.3x over days.
// Early in the calendar so that a two-day run sees both the announcement and
// the launch, with a day of history before it.
DiurnalParams ProductLaunch() {
  DiurnalParams p = WebBase(4000, 19);
  SpikeParams launch;
  launch.start = kDay + 16 * kHour;  // Tuesday 16:00 UTC
  launch.lead_time = 32 * kHour;     // announced Monday 08:00 UTC
  launch.ramp = 15 * kMinute;
  launch.hold = 2 * kHour;
  launch.decay = kDay;
  launch.magnitude = 4;
  launch.baseline_after = 1.3;
  launch.category = "launch";
  launch.text = "product launch, announced the day before; keeps 30 % more users";
  p.spikes.push_back(launch);
  return p;
}

// Unannounced: known only when it starts (lead time 0). The first one falls
// on the first afternoon, so even a one-day run has it.
DiurnalParams FlashCrowd() {
  DiurnalParams p = WebBase(3000, 20);
  SpikeParams front_page;
  front_page.start = 15 * kHour + 20 * kMinute;  // Monday 15:20 UTC
  front_page.lead_time = 0;
  front_page.ramp = 5 * kMinute;
  front_page.hold = 20 * kMinute;
  front_page.decay = 15 * kMinute;
  front_page.magnitude = 5;
  front_page.category = "news";
  front_page.text = "flash crowd: link on a news front page (unannounced)";
  p.spikes.push_back(front_page);
  SpikeParams social;
  social.start = 4 * kDay + 21 * kHour + 10 * kMinute;  // Friday 21:10 UTC
  social.lead_time = 0;
  social.ramp = 3 * kMinute;
  social.hold = 10 * kMinute;
  social.decay = 10 * kMinute;
  social.magnitude = 3;
  social.category = "social";
  social.text = "flash crowd: viral social media post (unannounced)";
  p.spikes.push_back(social);
  return p;
}

// US retail, US/Eastern (UTC-5: standard time is in force from 3 November
// 2024, so the sale itself needs no DST correction). Trace time 0 is Monday
// 2024-10-28 00:00 EST, so Black Friday (2024-11-29) is day 32 and Cyber
// Monday (2024-12-02) day 35.
DiurnalParams BlackFriday() {
  DiurnalParams p = WebBase(4000, 20);
  p.epoch = UtcMidnight(2024, 10, 28) + 5 * kHour;
  p.utc_offset_hours = -5;
  p.weekend_factor = 1.2;
  p.trend_per_day = 0.004;  // the build-up of the holiday season
  SpikeParams sale;
  sale.start = 31 * kDay + 18 * kHour;  // Thanksgiving, 18:00: early access
  sale.ramp = 2 * kHour;
  sale.hold = 36 * kDay - sale.start - sale.ramp;  // until Tuesday 3 December 00:00
  sale.decay = 12 * kHour;
  sale.magnitude = 1.8;
  sale.announced = 7 * kDay;  // Monday 4 November
  sale.category = "sale";
  sale.text = "Black Friday to Cyber Monday sale (Thanksgiving evening to 3 December)";
  p.spikes.push_back(sale);
  SpikeParams midnight;
  midnight.start = 32 * kDay;  // Black Friday 00:00
  midnight.ramp = 5 * kMinute;
  midnight.hold = 30 * kMinute;
  midnight.decay = 45 * kMinute;
  midnight.magnitude = 3.5;
  midnight.announced = 18 * kDay;  // Friday 15 November: the deals are revealed
  midnight.category = "sale";
  midnight.text = "Black Friday midnight doorbusters";
  p.spikes.push_back(midnight);
  SpikeParams morning = midnight;
  morning.start = 32 * kDay + 9 * kHour;
  morning.ramp = 10 * kMinute;
  morning.hold = kHour;
  morning.decay = kHour;
  morning.magnitude = 2.5;
  morning.text = "Black Friday 09:00 doorbusters";
  p.spikes.push_back(morning);
  SpikeParams cyber;
  cyber.start = 35 * kDay + 8 * kHour;
  cyber.ramp = 15 * kMinute;
  cyber.hold = 12 * kHour;
  cyber.decay = 3 * kHour;
  cyber.magnitude = 2.2;
  cyber.announced = 7 * kDay;
  cyber.category = "sale";
  cyber.text = "Cyber Monday deals";
  p.spikes.push_back(cyber);
  return p;
}

// A trading platform, US/Eastern as UTC-5 all year (DST ignored): the
// 09:30 opening spike every weekday (14:30 UTC) and, on about one weekday in
// twelve, an earnings release before the bell that adds to that day's open.
DiurnalParams MarketOpen(double days, std::uint64_t seed) {
  DiurnalParams p;
  p.base_rps = 3000;
  p.utc_offset_hours = -5;
  p.shape = DailyShape::kBusinessHours;
  p.daily_amplitude = 0.6;  // outside trading hours 0.4 x base, during them 1.6 x base
  p.business.open_hour = 9.5;
  p.business.close_hour = 16;
  p.business.transition_hours = 0.5;
  p.business.lunch_hour = 12.5;
  p.business.lunch_width_hours = 1.5;
  p.business.lunch_dip = 0.15;
  p.weekend_factor = 0.5;
  p.noise = 0.03;
  p.step = kStep;
  RecurringSpikeParams open;
  open.local_hour = 9.5;
  open.weekdays = 0x1F;
  open.ramp = 5 * kMinute;
  open.hold = 10 * kMinute;
  open.decay = 15 * kMinute;
  open.magnitude = 3;
  open.magnitude_jitter = 0.25;  // 2.5x to 3.5x
  open.lead_time = 7 * kDay;
  open.category = "market";
  open.text = "US equity market open (09:30 ET)";
  p.recurring.push_back(open);

  static constexpr std::array<const char*, 8> kTickers = {"ACME",  "GLOBEX", "INITECH", "UMBRELLA",
                                                          "HOOLI", "STARK",  "WAYNE",   "TYRELL"};
  EventRng rng(seed);
  // One pair of draws per calendar day, weekend or not, so a day's earnings
  // do not depend on how long the trace is.
  const auto n_days = static_cast<long long>(std::ceil(days));
  for (long long day = 0; day < n_days; ++day) {
    const double u = rng.NextUnit();
    const double pick = rng.NextUnit();
    if (day % 7 >= 5 || u >= 1.0 / 12) continue;
    const char* ticker = kTickers[static_cast<std::size_t>(pick * kTickers.size())];
    SpikeParams earnings;
    earnings.start = static_cast<double>(day) * kDay + 14.5 * kHour;  // 09:30 ET
    earnings.ramp = 5 * kMinute;
    earnings.hold = 20 * kMinute;
    earnings.decay = 30 * kMinute;
    earnings.magnitude = 3;
    earnings.lead_time = 21 * kDay;  // earnings dates are published weeks ahead
    earnings.category = "earnings";
    earnings.text = absl::StrCat("earnings of ", ticker, " released before the bell");
    p.spikes.push_back(std::move(earnings));
  }
  return p;
}

// Interactive traffic by day, batch by night: two role channels, demand their
// sum. A campaign hits interactive only, the nightly batch window batch only.
DiurnalParams RoleMix() {
  DiurnalParams p;
  p.base_rps = 5000;
  p.noise = 0.03;
  p.step = kStep;
  RoleParams interactive;
  interactive.name = "interactive";
  interactive.share = 0.65;
  interactive.daily_amplitude = 0.7;
  interactive.peak_hour = 14;
  interactive.weekend_factor = 0.7;
  RoleParams batch;
  batch.name = "batch";
  batch.share = 0.35;
  batch.daily_amplitude = 0.8;
  batch.peak_hour = 3;
  batch.weekend_factor = 1.2;
  p.roles = {interactive, batch};
  SpikeParams campaign;
  campaign.start = 2 * kDay + 15 * kHour;  // Wednesday 15:00 UTC
  campaign.lead_time = 2 * kDay;
  campaign.ramp = 10 * kMinute;
  campaign.hold = 45 * kMinute;
  campaign.decay = 30 * kMinute;
  campaign.magnitude = 2.5;
  campaign.category = "campaign";
  campaign.text = "marketing e-mail campaign (interactive)";
  campaign.role = "interactive";
  p.spikes.push_back(campaign);
  RecurringSpikeParams nightly;
  nightly.local_hour = 1;
  nightly.weekdays = 0x7F;
  nightly.ramp = 10 * kMinute;
  nightly.hold = 2 * kHour;
  nightly.decay = 30 * kMinute;
  nightly.magnitude = 1.8;
  nightly.magnitude_jitter = 0.1;
  nightly.lead_time = kDay;
  nightly.category = "batch";
  nightly.text = "nightly ETL batch window (batch)";
  nightly.role = "batch";
  p.recurring.push_back(nightly);
  return p;
}

// Training data for forecasters that must foresee announced events of any
// size: the diurnal-web curve (its digest push and Sunday stream included)
// plus a random stream of one-off events. Every calendar day draws from a
// stream of its own, so a day's events depend only on the seed and the day
// (a longer trace starts with the shorter one).
class EventMixDraws {
 public:
  explicit EventMixDraws(std::uint64_t seed) : rng_(seed ^ 0x3C6EF372FE94F82BULL) {}
  double Unit() { return rng_.NextUnit(); }
  // Log-uniform in [lo, hi]: as many short ramps as long ones per decade.
  double LogUniform(double lo, double hi) { return lo * std::pow(hi / lo, Unit()); }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Unit(); }

 private:
  EventRng rng_;
};

// Announcements come at most this long before the event.
constexpr double kEventMixMaxLead = 21 * kDay;
constexpr std::array<const char*, 5> kEventMixCategories = {"launch", "sale", "market", "news",
                                                            "media"};
// Whole multiples of `unit` (seconds); hundredths for multipliers, so that
// the provenance and the event texts read "x3.4", not "x3.4000000000000004".
double RoundTo(double x, double unit) { return std::round(x / unit) * unit; }
double RoundToHundredths(double x) { return std::round(x * 100) / 100; }

// One announced one-off spike on day `day`.
SpikeParams AnnouncedSpike(long long day, EventMixDraws& d) {
  SpikeParams s;
  const double hour = d.Uniform(0, 24);
  // Half start on the hour, like scheduled launches and sales; the rest on
  // any minute.
  const double minute_unit = d.Unit() < 0.5 ? 60 * kMinute : kMinute;
  s.start = static_cast<double>(day) * kDay + RoundTo(hour * kHour, minute_unit);
  s.magnitude = RoundToHundredths(d.Uniform(1.3, 5.0));
  s.ramp = RoundTo(d.LogUniform(kMinute, 30 * kMinute), kMinute);
  s.hold = RoundTo(d.LogUniform(10 * kMinute, 3 * kHour), kMinute);
  s.decay = RoundTo(d.LogUniform(10 * kMinute, 6 * kHour), kMinute);
  s.lead_time = RoundTo(d.LogUniform(kHour, kEventMixMaxLead), kMinute);
  s.category = kEventMixCategories[std::min<std::size_t>(
      static_cast<std::size_t>(d.Unit() * kEventMixCategories.size()),
      kEventMixCategories.size() - 1)];
  const double keeps = d.Unit();
  const double after = RoundToHundredths(d.Uniform(1.05, 1.2));
  // A quarter of the launches keep some of their new users (rarely and
  // modestly enough that a year of them does not swamp the daily cycle).
  if (s.category == std::string("launch") && keeps < 0.25) s.baseline_after = after;
  s.text = absl::StrCat("announced ", s.category, " spike x", Num(s.magnitude));
  return s;
}

// The random events of calendar day `day` (UTC; the preset's calendar is
// diurnal-web's), from a stream of the day's own.
void EventMixDay(long long day, EventMixDraws& d, std::vector<SpikeParams>* spikes) {
  // The day's draws are taken whether or not it has an event.
  const double u_first = d.Unit();
  const double u_second = d.Unit();
  const double u_surge = d.Unit();
  const double u_sale = d.Unit();
  // About five announced spikes a week: one on half the days, a second on a
  // quarter of them.
  SpikeParams first = AnnouncedSpike(day, d);
  SpikeParams second = AnnouncedSpike(day, d);
  if (u_first < 0.5) spikes->push_back(std::move(first));
  if (u_second < 0.25) spikes->push_back(std::move(second));
  // An unannounced surge (announced = start) on one day in ten: the model
  // must also see spikes that nothing foretold.
  SpikeParams surge;
  surge.start = static_cast<double>(day) * kDay + RoundTo(d.Uniform(0, 24) * kHour, kMinute);
  surge.magnitude = RoundToHundredths(d.Uniform(1.5, 4.0));
  surge.ramp = RoundTo(d.LogUniform(2 * kMinute, 15 * kMinute), kMinute);
  surge.hold = RoundTo(d.LogUniform(10 * kMinute, kHour), kMinute);
  surge.decay = RoundTo(d.LogUniform(10 * kMinute, 30 * kMinute), kMinute);
  surge.lead_time = 0;
  surge.category = d.Unit() < 0.5 ? "news" : "social";
  surge.text = absl::StrCat("unannounced ", surge.category, " surge x", Num(surge.magnitude));
  if (u_surge < 0.1) spikes->push_back(std::move(surge));
  // A long sale on one day in twelve: a modest lift for hours to days, so
  // that spikes also land on top of another event (their excesses add).
  SpikeParams sale;
  sale.start = static_cast<double>(day) * kDay + RoundTo(d.Uniform(0, 24), 1) * kHour;
  sale.magnitude = RoundToHundredths(d.Uniform(1.3, 2.0));
  sale.ramp = RoundTo(d.LogUniform(20 * kMinute, 2 * kHour), kMinute);
  sale.hold = RoundTo(d.LogUniform(6 * kHour, 2 * kDay), kMinute);
  sale.decay = RoundTo(d.LogUniform(kHour, 12 * kHour), kMinute);
  sale.lead_time = RoundTo(d.LogUniform(kDay, kEventMixMaxLead), kMinute);
  sale.category = "sale";
  sale.text = absl::StrCat("announced sale x", Num(sale.magnitude), " for ",
                           Num(std::round(sale.hold / kHour)), " h");
  if (u_sale < 1.0 / 12) spikes->push_back(std::move(sale));
}

DiurnalParams EventMix(double days, std::uint64_t seed) {
  DiurnalParams p = DiurnalWeb();
  EventMixDraws days_stream(seed);
  // Days past the end too, as far as the longest lead time reaches: an event
  // announced inside the trace that starts after it is listed, as in a
  // longer trace (GeneratePreset drops those announced after the end).
  const auto n_days = static_cast<long long>(std::ceil(days + kEventMixMaxLead / kDay)) + 1;
  std::vector<SpikeParams> spikes;
  for (long long day = 0; day < n_days; ++day) {
    // One draw per day seeds that day's stream, so a day's events do not
    // depend on how many uniforms the days before it used.
    EventMixDraws day_draws(static_cast<std::uint64_t>(days_stream.Unit() * 0x1.0p53));
    EventMixDay(day, day_draws, &spikes);
  }
  // Only what the trace can know of (the provenance lists every spike).
  const double duration = days * kDay;
  for (SpikeParams& s : spikes) {
    if (s.start - s.lead_time < duration) p.spikes.push_back(std::move(s));
  }
  return p;
}

}  // namespace

const std::vector<PresetInfo>& Presets() {
  static const std::vector<PresetInfo> kPresets = {
      {"diurnal-web",
       "consumer web: evening peak at 20:30 UTC, busier weekends, midday push, Sunday live stream"},
      {"weekly-business",
       "B2B SaaS: weekday working hours with a lunch dip, quiet nights and weekends, slow growth"},
      {"product-launch",
       "a launch announced 32 h ahead: 4x within 15 min, decaying over days to 1.3x"},
      {"flash-crowd", "unannounced flash crowds: 5x within 5 min, gone within the hour"},
      {"black-friday",
       "US retail from 2024-10-28: holiday build-up, then Black Friday to Cyber Monday sale"},
      {"market-open",
       "trading platform: 2.5-3.5x spikes at the 09:30 ET (14:30 UTC) open, earnings days"},
      {"role-mix", "interactive by day plus batch by night as role channels (demand = sum)"},
      {"event-mix",
       "diurnal-web plus random events: ~5 announced 1.3-5x spikes a week, surges, long sales"},
  };
  return kPresets;
}

absl::StatusOr<Trace> GeneratePreset(std::string_view name, double days, std::uint64_t seed) {
  if (!(days > 0 && days <= kMaxDays)) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a number of days in (0, ", kMaxDays, "], got ", Num(days)));
  }
  DiurnalParams params;
  if (name == "diurnal-web") {
    params = DiurnalWeb();
  } else if (name == "weekly-business") {
    params = WeeklyBusiness();
  } else if (name == "product-launch") {
    params = ProductLaunch();
  } else if (name == "flash-crowd") {
    params = FlashCrowd();
  } else if (name == "black-friday") {
    params = BlackFriday();
  } else if (name == "market-open") {
    params = MarketOpen(days, seed);
  } else if (name == "role-mix") {
    params = RoleMix();
  } else if (name == "event-mix") {
    params = EventMix(days, seed);
  } else {
    std::string names;
    for (const PresetInfo& p : Presets())
      absl::StrAppend(&names, names.empty() ? "" : ", ", p.name);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown preset \"", std::string(name), "\"; expected one of: ", names));
  }
  const double duration = days * kDay;
  Trace trace = GenerateDiurnal(params, duration, seed);
  // The trace keeps the events a forecaster could know of at some point of
  // it: those announced before its end (a launch announced inside a short
  // trace stays listed even if it starts after the end).
  std::erase_if(trace.events, [duration](const Event& e) { return !(e.announced < duration); });
  std::stable_sort(trace.events.begin(), trace.events.end(),
                   [](const Event& a, const Event& b) { return a.start < b.start; });
  trace.provenance = absl::StrCat("synthetic preset ", std::string(name), " days=", Num(days),
                                  " seed=", seed, ": ", trace.provenance);
  return trace;
}

}  // namespace meshtwin
