// Import of Prometheus' query_range answer (resultType "matrix"). The JSON is
// checked piece by piece so an error names the JSON path of the offending
// value ("data.result[2].values[7][1]"); the readings then go through the
// same axis building, gap reporting and fill as CSV (import_internal::BuildTrace).

#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "datasets/csv_import.h"
#include "datasets/import_internal.h"
#include "datasets/text_util.h"
#include "nlohmann/json.hpp"

namespace meshtwin {
namespace {

using Json = nlohmann::json;

using text_util::Absl;

// A JSON value as it appears in the file, cut when long.
std::string Got(const Json& j) {
  constexpr std::size_t kMax = 40;
  std::string s = j.dump();
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

class JsonErrors {
 public:
  explicit JsonErrors(std::string_view source) : source_(source) {}

  // "FILE: PATH: what".
  absl::Status At(std::string_view path, std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Absl(source_), ": ", Absl(path), ": ", Absl(what)));
  }

  // "FILE: PATH: expected WHAT, got VALUE".
  absl::Status Expected(std::string_view path, std::string_view what, const Json& got) const {
    return At(path, absl::StrCat("expected ", Absl(what), ", got ", Got(got)));
  }

  absl::Status Missing(std::string_view path, std::string_view key, std::string_view what) const {
    return At(path,
              absl::StrCat("expected a member \"", Absl(key), "\" (", Absl(what), "), got none"));
  }

 private:
  std::string_view source_;
};

// The 1-based line and column of byte offset `offset` of `text`.
std::pair<std::size_t, std::size_t> LineColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

// A label value as Prometheus writes it in a series name.
std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// One series' readings as parsed.
struct ParsedSeries {
  std::string name;
  std::vector<double> times;
  std::vector<double> values;
};

// data.result[i]: its name from the labels and its [time, "value"] pairs.
absl::Status ParseSeries(const JsonErrors& errors, const Json& item, const std::string& path,
                         const CsvImportOptions& options, ParsedSeries* out) {
  if (!item.is_object()) return errors.Expected(path, "a series object", item);
  const auto metric = item.find("metric");
  if (metric == item.end()) return errors.Missing(path, "metric", "the series' labels");
  const std::string metric_path = path + ".metric";
  if (!metric->is_object()) return errors.Expected(metric_path, "an object of labels", *metric);
  // The name Prometheus itself prints: name{label="value",...}, labels in
  // key order (the json object keeps its keys sorted).
  std::string labels;
  for (const auto& [key, value] : metric->items()) {
    if (!value.is_string()) {
      return errors.Expected(absl::StrCat(metric_path, ".", key), "a label value string", value);
    }
    if (key == "__name__") continue;
    absl::StrAppend(&labels, labels.empty() ? "" : ",", key, "=\"",
                    EscapeLabelValue(value.get<std::string>()), "\"");
  }
  const auto name = metric->find("__name__");
  out->name = absl::StrCat(name != metric->end() ? name->get<std::string>() : "", "{", labels, "}");

  const auto values = item.find("values");
  if (values == item.end()) {
    return errors.Missing(path, "values",
                          item.contains("value")
                              ? "a range of samples; \"value\" is the answer of an instant query, "
                                "use /api/v1/query_range"
                              : "the series' [time, \"value\"] pairs");
  }
  const std::string values_path = path + ".values";
  if (!values->is_array())
    return errors.Expected(values_path, "an array of [time, \"value\"] pairs", *values);
  out->times.reserve(values->size());
  out->values.reserve(values->size());
  for (std::size_t j = 0; j < values->size(); ++j) {
    const Json& pair = (*values)[j];
    const std::string pair_path = absl::StrCat(values_path, "[", j, "]");
    if (!pair.is_array() || pair.size() != 2) {
      return errors.Expected(pair_path, "a [time, \"value\"] pair", pair);
    }
    const Json& time = pair[0];
    if (!time.is_number() || !std::isfinite(time.get<double>())) {
      return errors.Expected(pair_path + "[0]", "a unix time in seconds (a number)", time);
    }
    const Json& value = pair[1];
    const std::string value_path = pair_path + "[1]";
    if (!value.is_string()) return errors.Expected(value_path, "a number as a string", value);
    const std::string& text = value.get_ref<const std::string&>();
    double reading = 0;
    // Prometheus writes a missing result as "NaN"; infinities are real
    // answers (a division by zero) that no trace can hold.
    if (text == "NaN") {
      reading = std::numeric_limits<double>::quiet_NaN();
    } else {
      const char* first = text.data();
      const char* const last = text.data() + text.size();
      if (first != last && *first == '+') ++first;
      const auto [ptr, ec] = std::from_chars(first, last, reading);
      if (text.empty() || ec != std::errc() || ptr != last) {
        return errors.Expected(value_path, "a number as a string", value);
      }
      if (!std::isfinite(reading)) {
        return errors.Expected(value_path, "a finite number as a string", value);
      }
      absl::StatusOr<double> checked =
          import_internal::CheckReading(reading, text, absl::StrCat("series ", out->name), options);
      if (!checked.ok()) return errors.At(value_path, ErrorText(checked.status()));
      reading = *checked;
    }
    out->times.push_back(time.get<double>());
    out->values.push_back(reading);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Trace> ImportPrometheusText(std::string_view text, std::string_view source_name,
                                           const CsvImportOptions& options, ImportReport* report) {
  ImportReport local;
  if (report == nullptr) report = &local;
  *report = ImportReport();
  const JsonErrors errors(source_name);

  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    // nlohmann's message carries its own "parse error at line L, column C: ";
    // keep only the explanation and put the position in our FILE:LINE:COLUMN.
    std::string detail = e.what();
    if (const std::size_t at = detail.find("column "); at != std::string::npos) {
      if (const std::size_t colon = detail.find(": ", at); colon != std::string::npos) {
        detail = detail.substr(colon + 2);
      }
    }
    const auto [line, column] = LineColumn(text, e.byte > 0 ? e.byte - 1 : 0);
    return absl::InvalidArgumentError(absl::StrCat(
        Absl(source_name), ":", line, ":", column,
        ": expected JSON (a Prometheus query_range answer), got a syntax error: ", detail));
  } catch (const Json::exception& e) {  // e.g. a number too large for a double
    return absl::InvalidArgumentError(absl::StrCat(
        Absl(source_name), ": expected JSON (a Prometheus query_range answer), got ", e.what()));
  }

  if (!root.is_object()) return errors.Expected("(top level)", "a JSON object", root);
  const auto status = root.find("status");
  if (status == root.end())
    return errors.Missing("(top level)", "status", "\"success\" or \"error\"");
  if (!status->is_string()) return errors.Expected("status", "a string", *status);
  if (*status != "success") {
    const auto text_of = [&](const char* key) {
      const auto it = root.find(key);
      if (it == root.end()) return std::string("(none)");
      return it->is_string() ? it->get<std::string>() : it->dump();
    };
    return errors.At("status",
                     absl::StrCat("expected \"success\", got ", status->dump(),
                                  ": Prometheus answered errorType ", text_of("errorType"),
                                  ", error \"", text_of("error"), "\""));
  }
  const auto data = root.find("data");
  if (data == root.end()) return errors.Missing("(top level)", "data", "the query result");
  if (!data->is_object()) return errors.Expected("data", "an object", *data);
  const auto result_type = data->find("resultType");
  if (result_type == data->end()) return errors.Missing("data", "resultType", "\"matrix\"");
  if (*result_type != "matrix") {
    return errors.Expected("data.resultType",
                           "\"matrix\" (the answer of a range query, /api/v1/query_range)",
                           *result_type);
  }
  const auto result = data->find("result");
  if (result == data->end()) return errors.Missing("data", "result", "the list of series");
  if (!result->is_array()) return errors.Expected("data.result", "an array of series", *result);
  if (result->empty()) {
    return errors.At("data.result",
                     "expected at least one series, got an empty list (the query matched nothing)");
  }

  std::vector<ParsedSeries> parsed(result->size());
  std::map<std::string, std::size_t> seen;
  std::size_t rows = 0;
  for (std::size_t i = 0; i < result->size(); ++i) {
    const std::string path = absl::StrCat("data.result[", i, "]");
    MESHTWIN_RETURN_IF_ERROR(ParseSeries(errors, (*result)[i], path, options, &parsed[i]));
    const auto [it, inserted] = seen.emplace(parsed[i].name, i);
    if (!inserted) {
      return errors.At(path + ".metric",
                       absl::StrCat("expected each series once, got ", parsed[i].name,
                                    " again (also data.result[", it->second, "])"));
    }
    rows += parsed[i].times.size();
  }
  report->rows = rows;

  std::vector<import_internal::SeriesView> series;
  for (const ParsedSeries& s : parsed) {
    series.push_back({s.name, s.times.data(), s.values.data(), s.times.size()});
  }
  std::string provenance =
      absl::StrCat("prometheus:", Absl(source_name), " series=", parsed.size(),
                   " demand=", options.demand_from == DemandFrom::kSum ? "sum" : "first");
  return import_internal::BuildTrace(series, /*time_origin=*/0, source_name, std::move(provenance),
                                     /*always_channels=*/true, options, report);
}

absl::StatusOr<Trace> ImportPrometheusFile(const std::string& path, const CsvImportOptions& options,
                                           ImportReport* report) {
  MESHTWIN_ASSIGN_OR_RETURN(const std::string text, text_util::ReadWholeFile(path));
  return ImportPrometheusText(text, path, options, report);
}

}  // namespace meshtwin
