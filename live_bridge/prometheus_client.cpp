#include "live_bridge/prometheus_client.h"

#include <httplib.h>

#include <charconv>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace meshtwin::live {
namespace {

using Json = nlohmann::json;

std::string Got(const Json& j) {
  constexpr std::size_t kMax = 60;
  std::string s = j.dump();
  return s.size() > kMax ? s.substr(0, kMax) + "..." : s;
}

// Prometheus' own error body: {"status":"error","errorType":"bad_data","error":"..."}.
bool ApiError(const Json& root, std::string* what) {
  if (!root.is_object()) return false;
  const auto status = root.find("status");
  if (status == root.end() || !status->is_string() || status->get<std::string>() != "error") {
    return false;
  }
  const auto type = root.find("errorType");
  const auto error = root.find("error");
  *what = absl::StrCat(
      "Prometheus answered an error (",
      type != root.end() && type->is_string() ? type->get<std::string>() : "no errorType",
      "): ", error != root.end() && error->is_string() ? error->get<std::string>() : "no message");
  return true;
}

// Splits http[s]://host[:port][/prefix] into httplib's scheme_host_port and
// the path prefix.
bool SplitUrl(const std::string& url, std::string* scheme_host_port, std::string* prefix) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  const std::size_t path_at = url.find('/', scheme_end + 3);
  *scheme_host_port = url.substr(0, path_at);
  if (scheme_host_port->size() <= scheme_end + 3) return false;
  *prefix = path_at == std::string::npos ? "" : url.substr(path_at);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  return true;
}

std::string FormatNumber(double v) {
  char buf[64];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, ptr) : std::to_string(v);
}

}  // namespace

absl::StatusOr<std::vector<PrometheusSample>> ParseQueryRangeAnswer(std::string_view body,
                                                                    std::string_view context) {
  auto bad = [&](std::string_view path, const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(context), ": answer ", std::string(path), ": ", what));
  };
  Json root;
  try {
    root = Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(context),
                     ": expected a JSON query_range answer, got unparsable text (", e.what(), ")"));
  }
  if (std::string what; ApiError(root, &what)) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(context), ": ", what));
  }
  if (!root.is_object()) return bad("(top level)", "expected an object, got " + Got(root));
  const auto status = root.find("status");
  if (status == root.end() || *status != "success") {
    return bad("status", "expected \"success\", got " +
                             (status == root.end() ? std::string("nothing") : Got(*status)));
  }
  const auto data = root.find("data");
  if (data == root.end() || !data->is_object()) {
    return bad("data", "expected an object, got " +
                           (data == root.end() ? std::string("nothing") : Got(*data)));
  }
  const auto type = data->find("resultType");
  if (type == data->end() || *type != "matrix") {
    return bad("data.resultType", "expected \"matrix\" (a range query's answer), got " +
                                      (type == data->end() ? std::string("nothing") : Got(*type)));
  }
  const auto result = data->find("result");
  if (result == data->end() || !result->is_array()) {
    return bad("data.result", "expected an array of series, got " +
                                  (result == data->end() ? std::string("nothing") : Got(*result)));
  }
  std::map<double, double> sum;  // time -> summed value
  for (std::size_t i = 0; i < result->size(); ++i) {
    const Json& series = (*result)[i];
    const std::string path = absl::StrCat("data.result[", i, "]");
    const auto values = series.is_object() ? series.find("values") : series.end();
    if (!series.is_object() || values == series.end() || !values->is_array()) {
      return bad(path + ".values",
                 "expected an array of [time, \"value\"] pairs, got " +
                     (series.is_object() && values != series.end() ? Got(*values)
                                                                   : std::string("nothing")));
    }
    for (std::size_t j = 0; j < values->size(); ++j) {
      const Json& pair = (*values)[j];
      const std::string pair_path = absl::StrCat(path, ".values[", j, "]");
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string()) {
        return bad(pair_path, "expected a [time, \"value\"] pair, got " + Got(pair));
      }
      const double time = pair[0].get<double>();
      const std::string& text = pair[1].get_ref<const std::string&>();
      double value = 0;
      const char* first = text.data();
      const char* last = first + text.size();
      if (first != last && *first == '+') ++first;
      const auto [ptr, ec] = std::from_chars(first, last, value);
      if (text.empty() || ec != std::errc() || ptr != last || !std::isfinite(value) ||
          !std::isfinite(time)) {
        return bad(
            pair_path + "[1]",
            absl::StrCat("expected a finite number, got ", Got(pair[1]), " at unix time ",
                         FormatNumber(time), " (wrap the query so that it cannot divide by zero)"));
      }
      sum[time] += value;
    }
  }
  std::vector<PrometheusSample> out;
  out.reserve(sum.size());
  for (const auto& [time, value] : sum) out.push_back({time, value});
  return out;
}

absl::StatusOr<std::vector<PrometheusSample>> QueryRange(const std::string& base_url,
                                                         const std::string& promql, double start,
                                                         double end, Seconds step,
                                                         const PrometheusClientOptions& options) {
  const std::string context = absl::StrCat("prometheus ", base_url, ": query '", promql, "'");
  std::string scheme_host_port;
  std::string prefix;
  if (!SplitUrl(base_url, &scheme_host_port, &prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": expected a URL http[s]://host[:port][/prefix]"));
  }
  if (!(step > 0) || !(end >= start)) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": expected start <= end and step > 0"));
  }
  const bool https = scheme_host_port.rfind("https://", 0) == 0;
  if (options.tls && !https) {
    // Configured certificates and a plaintext URL: refuse rather than send
    // the query (and whatever it reveals) in the clear.
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": TLS certificates are configured but the URL is not https://"));
  }
  if (options.tls) MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(*options.tls));
  httplib::Client client =
      options.tls ? httplib::Client(scheme_host_port, options.tls->cert, options.tls->key)
                  : httplib::Client(scheme_host_port);
  if (options.tls) {
    client.set_ca_cert_path(options.tls->ca_cert);
    client.enable_server_certificate_verification(true);
  }
  if (!client.is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": cannot make an HTTP client"));
  }
  auto to_duration = [](Seconds s) {
    return std::chrono::microseconds(static_cast<long long>(s * 1e6));
  };
  client.set_connection_timeout(to_duration(options.connect_timeout));
  client.set_read_timeout(to_duration(options.read_timeout));
  const httplib::Params params = {{"query", promql},
                                  {"start", FormatNumber(start)},
                                  {"end", FormatNumber(end)},
                                  {"step", FormatNumber(step)}};
  httplib::Result res = client.Get(prefix + "/api/v1/query_range", params, httplib::Headers{});
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat(context, ": request failed: ", httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    // Prometheus explains 400/422/503 in its usual error body.
    try {
      const Json root = Json::parse(res->body);
      if (std::string what; ApiError(root, &what)) {
        return absl::InvalidArgumentError(
            absl::StrCat(context, ": HTTP ", res->status, ": ", what));
      }
    } catch (const Json::exception&) {
    }
    std::string body = res->body.substr(0, 200);
    return absl::UnavailableError(
        absl::StrCat(context, ": HTTP ", res->status, body.empty() ? "" : ": ", body));
  }
  return ParseQueryRangeAnswer(res->body, context);
}

}  // namespace meshtwin::live
