// A small client for Prometheus' HTTP API: range queries only, which is what
// `meshtwin shadow` reads production's demand and capacity with. It speaks
// mutual TLS to a Prometheus whose --web.config.file requires client
// certificates. httplib stays in the .cpp.
//
//   PrometheusClientOptions o{.tls = TlsFiles::InDir("certs", "client")};
//   absl::StatusOr<std::vector<PrometheusSample>> s = QueryRange(
//       "https://prometheus:9090", "sum(rate(http_requests_total[1m]))", t0, t1, 15, o);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// One point of a query's answer: UTC unix seconds and the value.
struct PrometheusSample {
  double time = 0;
  double value = 0;
};

struct PrometheusClientOptions {
  Seconds connect_timeout = 5;  // TCP (and TLS) connect
  Seconds read_timeout = 30;    // waiting for the answer (Prometheus' own default is 2 min)
  // Set: the URL must be https; the client presents tls->cert (with tls->key)
  // and accepts only a server certificate signed by tls->ca_cert and naming
  // the URL's host. The files are checked first (CheckTlsFiles). Unset: an
  // https URL is verified against the system's CAs, without a client
  // certificate.
  std::optional<TlsFiles> tls;
};

// Evaluates `promql` over [start, end] (unix seconds) every `step` seconds via
// GET BASE_URL/api/v1/query_range. `base_url` is http[s]://host[:port][/prefix].
//
// A query whose answer holds several series (no `sum(...)` around a per-pod
// rate, say) is summed point by point: demand and capacity are fleet totals,
// and Prometheus aligns every series of one range query on the same step
// grid. A series with no point at a timestamp (stale, or not yet born) adds
// nothing there; a timestamp no series has is absent from the result.
// Samples are sorted by time.
//
// Errors name the URL and the query: Unavailable when Prometheus cannot be
// reached (a refused TLS handshake included) or answers an HTTP error without
// an API error body; InvalidArgument (NotFound) for bad (missing) TLS files
// or `tls` with an http URL;
// InvalidArgument when the API reports an error (bad PromQL, ...) or the
// answer is not a matrix of finite numbers ("NaN" and "+Inf" included:
// a fleet total that is not a number is a broken query, not a reading).
absl::StatusOr<std::vector<PrometheusSample>> QueryRange(
    const std::string& base_url, const std::string& promql, double start, double end, Seconds step,
    const PrometheusClientOptions& options = {});

// The parsing half of QueryRange, for an answer body already read; `context`
// prefixes every message ("prometheus URL: query Q").
absl::StatusOr<std::vector<PrometheusSample>> ParseQueryRangeAnswer(std::string_view body,
                                                                    std::string_view context);

}  // namespace meshtwin::live
