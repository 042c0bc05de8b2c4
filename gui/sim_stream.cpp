#include "gui/sim_stream.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace meshtwin::gui {
namespace {

using nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The scalar per-tick series, by their names in the stream.
struct ScalarSeries {
  const char* name;
  std::vector<double> TickSeries::*member;
};
constexpr ScalarSeries kDoubleSeries[] = {
    {"time", &TickSeries::time},       {"demand", &TickSeries::demand},
    {"arrived", &TickSeries::arrived}, {"capacity", &TickSeries::capacity},
    {"served", &TickSeries::served},   {"dropped", &TickSeries::dropped},
    {"queued", &TickSeries::queued},   {"utilization", &TickSeries::utilization},
    {"latency", &TickSeries::latency}, {"migrating", &TickSeries::migrating},
};
struct IntSeries {
  const char* name;
  std::vector<std::int32_t> TickSeries::*member;
};
constexpr IntSeries kIntSeries[] = {
    {"nodes_ready", &TickSeries::nodes_ready},
    {"nodes_booting", &TickSeries::nodes_booting},
    {"nodes_draining", &TickSeries::nodes_draining},
    {"nodes_switching", &TickSeries::nodes_switching},
};
// Row-major matrices: name, member, and the column count (0: classes,
// 1: node types, 2: roles).
struct MatrixSeries {
  const char* name;
  std::vector<double> TickSeries::*member;
  int columns;
};
constexpr MatrixSeries kMatrixSeries[] = {
    {"served_by_class", &TickSeries::served_by_class, 0},
    {"dropped_by_class", &TickSeries::dropped_by_class, 0},
    {"throttled_by_class", &TickSeries::throttled_by_class, 0},
    {"queued_by_class", &TickSeries::queued_by_class, 0},
    {"demand_by_role", &TickSeries::demand_by_role, 2},
    {"utilization_by_role", &TickSeries::utilization_by_role, 2},
};

template <typename T>
json Row(const std::vector<T>& m, std::size_t row, std::size_t columns) {
  json a = json::array();
  for (std::size_t c = 0; c < columns && row * columns + c < m.size(); ++c) {
    a.push_back(m[row * columns + c]);
  }
  return a;
}

// Four decimals are plenty for a viewer; the results file read at the end
// has the exact values.
double Round4(float v) { return std::round(static_cast<double>(v) * 1e4) / 1e4; }

json EventJson(const Event& e) {
  return {{"start", e.start},   {"end", e.end},           {"announced", e.announced},
          {"source", e.source}, {"category", e.category}, {"magnitude", e.magnitude},
          {"text", e.text}};
}

// Reads typed fields out of one parsed line, remembering the first problem
// (with the key's path) instead of throwing.
class Reader {
 public:
  explicit Reader(std::string* error) : error_(error) {}

  bool Fail(const std::string& path, const std::string& what) {
    if (error_->empty()) *error_ = path + ": " + what;
    return false;
  }
  const json* Field(const json& obj, const char* key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      Fail(path + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  double Number(const json& obj, const char* key, const std::string& path) {
    const json* v = Field(obj, key, path);
    if (!v) return kNaN;
    if (v->is_null()) return kNaN;  // NaN is written as null
    if (!v->is_number()) {
      Fail(path + key, "expected a number, got " + v->dump());
      return kNaN;
    }
    return v->get<double>();
  }
  std::int64_t Integer(const json& obj, const char* key, const std::string& path) {
    const json* v = Field(obj, key, path);
    if (!v) return 0;
    if (!v->is_number_integer()) {
      Fail(path + key, "expected an integer, got " + v->dump());
      return 0;
    }
    return v->get<std::int64_t>();
  }
  std::string Text(const json& obj, const char* key, const std::string& path) {
    const json* v = Field(obj, key, path);
    if (!v) return {};
    if (!v->is_string()) {
      Fail(path + key, "expected a string, got " + v->dump());
      return {};
    }
    return v->get<std::string>();
  }
  // An array of `size` numbers (any size when size < 0).
  template <typename T>
  bool Numbers(const json& obj, const char* key, const std::string& path, long size,
               std::vector<T>* out) {
    const json* v = Field(obj, key, path);
    if (!v) return false;
    if (!v->is_array()) return Fail(path + key, "expected an array");
    if (size >= 0 && v->size() != static_cast<std::size_t>(size)) {
      return Fail(path + key,
                  "has " + std::to_string(v->size()) + " values, expected " + std::to_string(size));
    }
    for (const json& x : *v) {
      if (x.is_null()) {
        out->push_back(static_cast<T>(kNaN));
      } else if (!x.is_number()) {
        return Fail(path + key, "expected numbers, got " + x.dump());
      } else {
        out->push_back(x.get<T>());
      }
    }
    return true;
  }

 private:
  std::string* error_;
};

}  // namespace

std::string StreamHeaderLine(const ResultsData& meta, double duration) {
  json h;
  h["scenario"] = meta.scenario_name;
  h["scenario_text"] = meta.scenario_text;
  h["overrides"] = meta.overrides;
  h["policy"] = meta.policy;
  h["seed"] = meta.seed;
  h["control_interval"] = meta.control_interval;
  h["trace_epoch"] = meta.trace_epoch;
  h["duration"] = duration;
  h["node_types"] = meta.node_types;
  h["roles"] = meta.roles;
  h["snapshot_every"] = meta.nodes.every;
  json events = json::array();
  for (const Event& e : meta.events) events.push_back(EventJson(e));
  h["events"] = std::move(events);
  return json{{"header", std::move(h)}}.dump();
}

std::string StreamTickLine(const ResultsData& so_far, std::size_t tick, std::size_t* decisions_sent,
                           double progress) {
  const TickSeries& t = so_far.ticks;
  json series;
  for (const ScalarSeries& s : kDoubleSeries) series[s.name] = (t.*(s.member))[tick];
  for (const IntSeries& s : kIntSeries) series[s.name] = (t.*(s.member))[tick];
  series["slo_violated"] = t.slo_violated[tick];
  const std::size_t types = t.size() ? t.nodes_by_type.size() / t.size() : 0;
  const std::size_t roles = t.size() ? t.nodes_by_role.size() / t.size() : 0;
  series["nodes_by_type"] = Row(t.nodes_by_type, tick, types);
  series["nodes_by_role"] = Row(t.nodes_by_role, tick, roles);
  for (const MatrixSeries& m : kMatrixSeries) {
    series[m.name] = Row(t.*(m.member), tick, m.columns == 0 ? kNumClasses : roles);
  }

  json decisions = json::array();
  for (; *decisions_sent < so_far.decisions.size(); ++*decisions_sent) {
    const DecisionRecord& d = so_far.decisions[*decisions_sent];
    decisions.push_back({{"time", d.time},
                         {"policy", d.policy},
                         {"node_type", d.node_type},
                         {"action", d.action},
                         {"count", d.count},
                         {"replicas_before", d.replicas_before},
                         {"replicas_after", d.replicas_after},
                         {"metric", d.metric},
                         {"reason", d.reason}});
  }

  json line{{"tick", tick},
            {"progress", progress},
            {"series", std::move(series)},
            {"decisions", std::move(decisions)}};
  const NodeSnapshots& ns = so_far.nodes;
  if (ns.size() > 0 && ns.offset.size() == ns.size() + 1 && tick < t.size() &&
      ns.time.back() == t.time[tick]) {
    const std::size_t s = ns.size() - 1;
    const auto b = static_cast<std::size_t>(ns.offset[s]);
    const auto e = static_cast<std::size_t>(ns.offset[s + 1]);
    json snap;
    snap["time"] = ns.time[s];
    snap["id"] = std::vector<std::int32_t>(ns.id.begin() + b, ns.id.begin() + e);
    snap["type"] = std::vector<std::int16_t>(ns.type.begin() + b, ns.type.begin() + e);
    snap["role"] = std::vector<std::int16_t>(ns.role.begin() + b, ns.role.begin() + e);
    snap["state"] = std::vector<std::uint8_t>(ns.state.begin() + b, ns.state.begin() + e);
    json util = json::array(), queued = json::array();
    for (std::size_t r = b; r < e; ++r) {
      util.push_back(Round4(ns.utilization[r]));
      queued.push_back(Round4(ns.queued[r]));
    }
    snap["utilization"] = std::move(util);
    snap["queued"] = std::move(queued);
    snap["links"] = ns.links;
    if (!ns.links.empty() && ns.link_offset.size() == ns.size() + 1) {
      const auto lb = static_cast<std::size_t>(ns.link_offset[s]);
      const auto le = static_cast<std::size_t>(ns.link_offset[s + 1]);
      snap["link_from"] =
          std::vector<std::int32_t>(ns.link_from.begin() + lb, ns.link_from.begin() + le);
      snap["link_to"] = std::vector<std::int32_t>(ns.link_to.begin() + lb, ns.link_to.begin() + le);
    }
    line["snapshot"] = std::move(snap);
  }
  return line.dump();
}

std::string StreamDoneLine(const std::string& results_path) {
  return json{{"done", true}, {"results", results_path}}.dump();
}

absl::Status StreamDecoder::Feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  pending_.append(bytes.data(), bytes.size());
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    absl::Status st = ApplyLine(std::string_view(pending_).substr(start, nl - start));
    start = nl + 1;
    if (!st.ok()) {
      pending_.clear();
      return st;
    }
  }
  pending_.erase(0, start);
  return absl::OkStatus();
}

absl::Status StreamDecoder::ApplyLine(std::string_view line) {
  if (!error_.ok()) return error_;
  ++line_;
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return absl::OkStatus();
  std::string problem;
  Reader rd(&problem);
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    problem =
        "not valid JSON: " + std::string(line.substr(0, 60)) + (line.size() > 60 ? "..." : "");
  } else if (!j.is_object()) {
    problem = "expected a JSON object";
  } else if (done_) {
    problem = "a line after the final {\"done\": true} line";
  } else if (auto h = j.find("header"); h != j.end()) {
    if (has_header_) {
      problem = "a second header";
    } else if (!h->is_object()) {
      problem = "header: expected an object";
    } else {
      const std::string p = "header.";
      data_.scenario_name = rd.Text(*h, "scenario", p);
      data_.scenario_text = rd.Text(*h, "scenario_text", p);
      data_.overrides = rd.Text(*h, "overrides", p);
      data_.policy = rd.Text(*h, "policy", p);
      data_.seed = static_cast<std::uint64_t>(rd.Integer(*h, "seed", p));
      data_.control_interval = rd.Number(*h, "control_interval", p);
      data_.trace_epoch = rd.Number(*h, "trace_epoch", p);
      duration_ = rd.Number(*h, "duration", p);
      data_.nodes.every = static_cast<std::int32_t>(rd.Integer(*h, "snapshot_every", p));
      for (const char* key : {"node_types", "roles"}) {
        const json* a = rd.Field(*h, key, p);
        if (!a) break;
        if (!a->is_array()) {
          rd.Fail(p + key, "expected an array of strings");
          break;
        }
        auto& out = std::string_view(key) == "roles" ? data_.roles : data_.node_types;
        for (const json& x : *a) {
          if (!x.is_string()) {
            rd.Fail(p + key, "expected an array of strings");
            break;
          }
          out.push_back(x.get<std::string>());
        }
      }
      if (problem.empty() && data_.roles.empty()) rd.Fail(p + "roles", "is empty");
      if (const json* ev = rd.Field(*h, "events", p); ev && problem.empty()) {
        if (!ev->is_array()) rd.Fail(p + "events", "expected an array");
        for (std::size_t i = 0; problem.empty() && ev->is_array() && i < ev->size(); ++i) {
          const json& e = (*ev)[i];
          const std::string ep = p + "events[" + std::to_string(i) + "].";
          if (!e.is_object()) {
            rd.Fail(ep, "expected an object");
            break;
          }
          Event out;
          out.start = rd.Number(e, "start", ep);
          out.end = rd.Number(e, "end", ep);
          out.announced = rd.Number(e, "announced", ep);
          out.source = rd.Text(e, "source", ep);
          out.category = rd.Text(e, "category", ep);
          out.magnitude = rd.Number(e, "magnitude", ep);
          out.text = rd.Text(e, "text", ep);
          data_.events.push_back(std::move(out));
        }
      }
      has_header_ = problem.empty();
    }
  } else if (j.contains("done")) {
    if (j["done"] != true) {
      problem = "done: expected true";
    } else {
      results_path_ = rd.Text(j, "results", "");
      if (problem.empty()) {
        done_ = true;
        progress_ = 1;
      }
    }
  } else if (!has_header_) {
    problem = "expected the header line first";
  } else {
    // A tick line.
    const std::int64_t tick = rd.Integer(j, "tick", "");
    const double progress = rd.Number(j, "progress", "");
    const json* series = rd.Field(j, "series", "");
    TickSeries& t = data_.ticks;
    if (problem.empty() && tick != static_cast<std::int64_t>(t.size())) {
      rd.Fail("tick",
              "expected tick " + std::to_string(t.size()) + ", got " + std::to_string(tick));
    }
    if (problem.empty() && !series->is_object()) rd.Fail("series", "expected an object");
    // Parse into a scratch copy first, so a bad line leaves the data whole.
    TickSeries row;
    const long types = static_cast<long>(data_.node_types.size());
    const long roles = static_cast<long>(data_.roles.size());
    if (problem.empty()) {
      const std::string p = "series.";
      for (const ScalarSeries& s : kDoubleSeries)
        (row.*(s.member)).push_back(rd.Number(*series, s.name, p));
      for (const IntSeries& s : kIntSeries) {
        (row.*(s.member)).push_back(static_cast<std::int32_t>(rd.Integer(*series, s.name, p)));
      }
      row.slo_violated.push_back(static_cast<std::uint8_t>(rd.Integer(*series, "slo_violated", p)));
      rd.Numbers(*series, "nodes_by_type", p, types, &row.nodes_by_type);
      rd.Numbers(*series, "nodes_by_role", p, roles, &row.nodes_by_role);
      for (const MatrixSeries& m : kMatrixSeries) {
        rd.Numbers(*series, m.name, p, m.columns == 0 ? kNumClasses : roles, &(row.*(m.member)));
      }
    }
    std::vector<DecisionRecord> decisions;
    if (problem.empty()) {
      const json* d = rd.Field(j, "decisions", "");
      if (d && !d->is_array()) rd.Fail("decisions", "expected an array");
      for (std::size_t i = 0; problem.empty() && d && i < d->size(); ++i) {
        const json& x = (*d)[i];
        const std::string p = "decisions[" + std::to_string(i) + "].";
        if (!x.is_object()) {
          rd.Fail(p, "expected an object");
          break;
        }
        DecisionRecord r;
        r.time = rd.Number(x, "time", p);
        r.policy = rd.Text(x, "policy", p);
        r.node_type = rd.Text(x, "node_type", p);
        r.action = rd.Text(x, "action", p);
        r.count = static_cast<std::int32_t>(rd.Integer(x, "count", p));
        r.replicas_before = static_cast<std::int32_t>(rd.Integer(x, "replicas_before", p));
        r.replicas_after = static_cast<std::int32_t>(rd.Integer(x, "replicas_after", p));
        r.metric = rd.Number(x, "metric", p);
        r.reason = rd.Text(x, "reason", p);
        decisions.push_back(std::move(r));
      }
    }
    NodeSnapshots snap;
    bool has_snapshot = false;
    if (problem.empty()) {
      if (auto it = j.find("snapshot"); it != j.end()) {
        has_snapshot = true;
        const std::string p = "snapshot.";
        if (!it->is_object()) {
          rd.Fail("snapshot", "expected an object");
        } else {
          snap.time.push_back(rd.Number(*it, "time", p));
          rd.Numbers(*it, "id", p, -1, &snap.id);
          const long n = static_cast<long>(snap.id.size());
          rd.Numbers(*it, "type", p, n, &snap.type);
          rd.Numbers(*it, "role", p, n, &snap.role);
          rd.Numbers(*it, "state", p, n, &snap.state);
          rd.Numbers(*it, "utilization", p, n, &snap.utilization);
          rd.Numbers(*it, "queued", p, n, &snap.queued);
          snap.links = rd.Text(*it, "links", p);
          if (problem.empty() && !snap.links.empty()) {
            rd.Numbers(*it, "link_from", p, -1, &snap.link_from);
            rd.Numbers(*it, "link_to", p, static_cast<long>(snap.link_from.size()), &snap.link_to);
          }
          for (std::size_t r = 0; problem.empty() && r < snap.id.size(); ++r) {
            if (snap.type[r] < 0 || snap.type[r] >= types) {
              rd.Fail(p + "type", "value " + std::to_string(snap.type[r]) + " is not a node type");
            } else if (snap.role[r] < 0 || snap.role[r] >= roles) {
              rd.Fail(p + "role", "value " + std::to_string(snap.role[r]) + " is not a role");
            } else if (snap.state[r] >= kNumNodeStates) {
              rd.Fail(p + "state", "value " + std::to_string(snap.state[r]) + " is not a state");
            }
          }
        }
      }
    }
    if (problem.empty()) {
      for (const ScalarSeries& s : kDoubleSeries) (t.*(s.member)).push_back((row.*(s.member))[0]);
      for (const IntSeries& s : kIntSeries) (t.*(s.member)).push_back((row.*(s.member))[0]);
      t.slo_violated.push_back(row.slo_violated[0]);
      auto append = [](auto& to, const auto& from) {
        to.insert(to.end(), from.begin(), from.end());
      };
      append(t.nodes_by_type, row.nodes_by_type);
      append(t.nodes_by_role, row.nodes_by_role);
      for (const MatrixSeries& m : kMatrixSeries) append(t.*(m.member), row.*(m.member));
      append(data_.decisions, decisions);
      if (has_snapshot) {
        NodeSnapshots& ns = data_.nodes;
        if (ns.offset.empty()) ns.offset.push_back(0);
        ns.time.push_back(snap.time[0]);
        append(ns.id, snap.id);
        append(ns.type, snap.type);
        append(ns.role, snap.role);
        append(ns.state, snap.state);
        append(ns.utilization, snap.utilization);
        append(ns.queued, snap.queued);
        ns.offset.push_back(static_cast<std::int64_t>(ns.id.size()));
        if (!snap.links.empty()) {
          if (ns.link_offset.empty()) ns.link_offset.assign(ns.time.size(), 0);
          ns.links = snap.links;
          append(ns.link_from, snap.link_from);
          append(ns.link_to, snap.link_to);
        }
        if (!ns.link_offset.empty()) {
          ns.link_offset.push_back(static_cast<std::int64_t>(ns.link_from.size()));
        }
      }
      progress_ = progress;
    }
  }
  if (!problem.empty()) {
    error_ = absl::InvalidArgumentError(source_name_ + ": stream line " + std::to_string(line_) +
                                        ": " + problem);
    return error_;
  }
  return absl::OkStatus();
}

}  // namespace meshtwin::gui
