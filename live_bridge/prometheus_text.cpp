#include "live_bridge/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <string_view>

namespace meshtwin::live {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

const char* TypeName(int type) {
  switch (type) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

// "a=\"1\",b=\"2\"": the labels sorted by name, values escaped.
std::string RenderLabels(MetricLabels labels) {
  std::sort(labels.begin(), labels.end());
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name + "=\"" + EscapeLabelValue(value) + '"';
  }
  return out;
}

// name{labels} or name{labels,extra} or name.
std::string SeriesName(const std::string& name, const std::string& labels,
                       const std::string& extra = "") {
  std::string inner = labels;
  if (!extra.empty()) inner += (inner.empty() ? "" : ",") + extra;
  return inner.empty() ? name : name + "{" + inner + "}";
}

absl::Status ValidateHistogram(const std::string& name, const HistogramValue& h) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError("histogram " + name + ": " + what);
  };
  if (h.upper_bounds.size() != h.cumulative_counts.size()) {
    return bad(std::to_string(h.upper_bounds.size()) + " bounds but " +
               std::to_string(h.cumulative_counts.size()) + " bucket counts");
  }
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    if (!std::isfinite(h.upper_bounds[i])) return bad("bounds must be finite (+Inf is implied)");
    if (i > 0 && h.upper_bounds[i] <= h.upper_bounds[i - 1]) {
      return bad("bounds must be strictly ascending");
    }
    if (i > 0 && h.cumulative_counts[i] < h.cumulative_counts[i - 1]) {
      return bad("bucket counts must be cumulative (non-decreasing)");
    }
  }
  if (!h.cumulative_counts.empty() && h.cumulative_counts.back() > h.count) {
    return bad("a bucket holds more observations than count");
  }
  if (std::isnan(h.sum)) return bad("sum is NaN");
  return absl::OkStatus();
}

}  // namespace

bool IsValidMetricName(const std::string& name) {
  if (name.empty() || IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == ':'; });
}

bool IsValidLabelName(const std::string& name) {
  if (name.empty() || IsDigit(name[0]) || name.rfind("__", 0) == 0) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; });
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, ec == std::errc() ? end : buffer);
}

absl::Status ExpositionWriter::Counter(const std::string& name, const std::string& help,
                                       const MetricLabels& labels, double value) {
  if (std::isnan(value) || value < 0) {
    return absl::InvalidArgumentError("counter " + name + ": value must be >= 0, got " +
                                      FormatSampleValue(value));
  }
  return Add(name, help, Type::kCounter, labels, value);
}

absl::Status ExpositionWriter::Gauge(const std::string& name, const std::string& help,
                                     const MetricLabels& labels, double value) {
  return Add(name, help, Type::kGauge, labels, value);
}

absl::Status ExpositionWriter::Histogram(const std::string& name, const std::string& help,
                                         const MetricLabels& labels, const HistogramValue& value) {
  MESHTWIN_RETURN_IF_ERROR(ValidateHistogram(name, value));
  return Add(name, help, Type::kHistogram, labels, value);
}

absl::Status ExpositionWriter::Add(const std::string& name, const std::string& help, Type type,
                                   const MetricLabels& labels,
                                   std::variant<double, HistogramValue> value) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError("invalid metric name '" + name + "'");
  }
  std::set<std::string> seen;
  for (const auto& [label, unused] : labels) {
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(name + ": invalid label name '" + label + "'");
    }
    if (type == Type::kHistogram && label == "le") {
      return absl::InvalidArgumentError(name + ": 'le' is reserved for histogram buckets");
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(name + ": label '" + label + "' given twice");
    }
  }
  // A histogram "h" writes h_bucket, h_sum and h_count: no other family may
  // take those names, in either order of declaration.
  for (std::string_view suffix : kHistogramSuffixes) {
    if (type == Type::kHistogram && families_.count(name + std::string(suffix)) > 0) {
      return absl::InvalidArgumentError("histogram " + name + " collides with metric " + name +
                                        std::string(suffix));
    }
    if (name.size() > suffix.size() &&
        std::string_view(name).substr(name.size() - suffix.size()) == suffix) {
      auto base = families_.find(name.substr(0, name.size() - suffix.size()));
      if (base != families_.end() && base->second.type == Type::kHistogram) {
        return absl::InvalidArgumentError("metric " + name + " collides with histogram " +
                                          base->first);
      }
    }
  }

  auto [it, created] = families_.try_emplace(name);
  Family& family = it->second;
  if (created) {
    family.type = type;
    family.help = help;
  } else if (family.type != type) {
    return absl::InvalidArgumentError(name + ": declared as " +
                                      TypeName(static_cast<int>(family.type)) + ", now as " +
                                      TypeName(static_cast<int>(type)));
  } else if (family.help != help) {
    return absl::InvalidArgumentError(name + ": declared with another help text");
  }
  std::string key = RenderLabels(labels);
  if (!family.series.try_emplace(key, std::move(value)).second) {
    if (created) families_.erase(it);
    return absl::InvalidArgumentError(SeriesName(name, key) + ": series given twice");
  }
  return absl::OkStatus();
}

std::string ExpositionWriter::Render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    if (!family.help.empty()) out += "# HELP " + name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + name + " " + TypeName(static_cast<int>(family.type)) + "\n";
    for (const auto& [labels, value] : family.series) {
      if (const double* v = std::get_if<double>(&value)) {
        out += SeriesName(name, labels) + " " + FormatSampleValue(*v) + "\n";
        continue;
      }
      const HistogramValue& h = std::get<HistogramValue>(value);
      for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
        out += SeriesName(name + "_bucket", labels,
                          "le=\"" + FormatSampleValue(h.upper_bounds[i]) + "\"") +
               " " + std::to_string(h.cumulative_counts[i]) + "\n";
      }
      out += SeriesName(name + "_bucket", labels, "le=\"+Inf\"") + " " + std::to_string(h.count) +
             "\n";
      out += SeriesName(name + "_sum", labels) + " " + FormatSampleValue(h.sum) + "\n";
      out += SeriesName(name + "_count", labels) + " " + std::to_string(h.count) + "\n";
    }
  }
  return out;
}

absl::StatusOr<std::vector<ParsedSample>> ParseExposition(const std::string& text) {
  std::vector<ParsedSample> samples;
  std::size_t line_start = 0;
  for (int line_no = 1; line_start < text.size(); ++line_no) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    std::string_view line(text.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    auto bad = [&](const std::string& what) {
      return absl::InvalidArgumentError("exposition line " + std::to_string(line_no) + ": " + what +
                                        " in '" + std::string(line) + "'");
    };
    std::size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size() || line[i] == '#') continue;

    ParsedSample sample;
    while (i < line.size() &&
           (IsAlpha(line[i]) || IsDigit(line[i]) || line[i] == '_' || line[i] == ':')) {
      sample.name += line[i++];
    }
    if (!IsValidMetricName(sample.name)) return bad("expected a metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::string label;
        while (i < line.size() && (IsAlpha(line[i]) || IsDigit(line[i]) || line[i] == '_')) {
          label += line[i++];
        }
        if (label.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          return bad("expected label=\"value\"");
        }
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value += c;
            continue;
          }
          if (i == line.size()) break;
          char e = line[i++];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            return bad(std::string("unknown escape \\") + e);
          }
        }
        if (!closed) return bad("unterminated label value");
        sample.labels.emplace_back(std::move(label), std::move(value));
        while (i < line.size() && line[i] == ' ') ++i;
        if (i < line.size() && line[i] == ',') ++i;
      }
    }
    if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) return bad("expected a value");
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t value_end = line.find_first_of(" \t", i);
    std::string_view value =
        line.substr(i, value_end == std::string_view::npos ? value_end : value_end - i);
    if (value == "NaN") {
      sample.value = std::nan("");
    } else if (value == "+Inf" || value == "Inf") {
      sample.value = HUGE_VAL;
    } else if (value == "-Inf") {
      sample.value = -HUGE_VAL;
    } else {
      if (!value.empty() && value.front() == '+') value.remove_prefix(1);
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), sample.value);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return bad("bad value '" + std::string(value) + "'");
      }
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace meshtwin::live
