// The HDF5 results file. The schema is described in datasets/FORMAT.md; keep
// the two in step (and bump kFormatVersion when a reader of the old version
// could no longer read what is written). The HDF5 plumbing is shared with the
// trace file (datasets/hdf5_util.h).

#include "datasets/results_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "datasets/hdf5_util.h"

namespace meshtwin {
namespace {

using hdf5::Column;
using hdf5::ColumnKind;
using hdf5::Handle;

constexpr char kFormatName[] = "meshtwin-results";
// 2: classes, roles and migration (a version-1 file lacks their series, and its
// decisions hold only scale_out and scale_in).
// 3: /nodes, the per-node snapshots. A version-2 file is still read (it has
// no /nodes).
constexpr std::int32_t kFormatVersion = 3;
constexpr std::int32_t kOldestReadableVersion = 2;

// ---------------------------------------------------------------------------
// Writing.

// A dataset of `group` with its "units" and (unless null) "description"
// attributes; rows are chunked by hdf5::kChunkRows.
absl::Status WriteDescribed(const hdf5::Writer& w, hid_t group, const char* group_path,
                            const char* name, hid_t file_type, hid_t mem_type,
                            std::vector<hsize_t> dims, const void* data, const char* units,
                            const char* description) {
  const std::string object = hdf5::Join(group_path, name);
  std::vector<hsize_t> chunks = dims;
  chunks[0] = std::min<hsize_t>(dims[0], hdf5::kChunkRows);
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, w.WriteDataset(group, group_path, name, file_type, mem_type,
                                                      std::move(dims), std::move(chunks), data));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "units", units));
  if (description == nullptr) return absl::OkStatus();
  return w.WriteStringAttribute(ds.get(), object, "description", description);
}

// A 1-D tick series.
absl::Status WriteSeries(const hdf5::Writer& w, hid_t group, const char* name, hid_t file_type,
                         hid_t mem_type, std::size_t n, const void* data, const char* units,
                         const char* description) {
  return WriteDescribed(w, group, "/ticks", name, file_type, mem_type, {n}, data, units,
                        description);
}

// The per-tick float64 series, in file order.
struct F64Series {
  const char* name;
  std::vector<double> TickSeries::*member;
  const char* units;
  const char* description;
};
constexpr F64Series kF64Series[] = {
    {"time", &TickSeries::time, "s", "tick start, seconds since the start of the run"},
    {"demand", &TickSeries::demand, "requests/s", "offered request rate over the tick"},
    {"arrived", &TickSeries::arrived, "requests", "requests that arrived during the tick"},
    {"capacity", &TickSeries::capacity, "requests/s", "what the ready nodes can serve"},
    {"served", &TickSeries::served, "requests", "requests completed during the tick"},
    {"dropped", &TickSeries::dropped, "requests", "requests dropped during the tick (queue full)"},
    {"queued", &TickSeries::queued, "requests", "requests waiting at the end of the tick"},
    {"utilization", &TickSeries::utilization, "1",
     "fleet CPU utilisation of the ready nodes, fraction 0..1"},
    {"latency", &TickSeries::latency, "s", "mean latency estimate over the tick"},
    {"migrating", &TickSeries::migrating, "requests",
     "of queued: requests in transit between nodes at the end of the tick"},
    {"lost", &TickSeries::lost, "requests",
     "of dropped: requests lost to failures (sent to or queued on crashed nodes, failed by gray "
     "ones, lost on degraded links)"},
};
// Series added in version 3: a version-2 file lacks them (read as zeros).
bool SinceVersion3(const char* name) {
  return std::string_view(name) == "lost" || std::string_view(name) == "nodes_failed";
}

struct I32Series {
  const char* name;
  std::vector<std::int32_t> TickSeries::*member;
  const char* description;
};
constexpr I32Series kI32Series[] = {
    {"nodes_ready", &TickSeries::nodes_ready, "nodes serving at the end of the tick"},
    {"nodes_booting", &TickSeries::nodes_booting, "nodes provisioned but not serving yet"},
    {"nodes_draining", &TickSeries::nodes_draining, "nodes told to stop, finishing their queue"},
    {"nodes_switching", &TickSeries::nodes_switching,
     "nodes changing role, serving nothing new until the switch completes"},
    {"nodes_failed", &TickSeries::nodes_failed,
     "crashed nodes not yet replaced (the manager may not know yet)"},
};

// What the columns of a ticks x C matrix are; the dataset carries them as a
// string-list attribute of the same name, so it describes itself.
enum class Columns { kNodeTypes, kClasses, kRoles };

const char* ColumnsName(Columns c) {
  switch (c) {
    case Columns::kNodeTypes:
      return "node_types";
    case Columns::kClasses:
      return "classes";
    case Columns::kRoles:
      return "roles";
  }
  return "";
}

// critical, standard, best_effort: the column order of every per-class value.
std::vector<std::string> ClassNames() {
  std::vector<std::string> names;
  for (int c = 0; c < kNumClasses; ++c) names.push_back(ToString(static_cast<RequestClass>(c)));
  return names;
}

std::vector<std::string> ColumnLabels(Columns c, const ResultsData& data) {
  switch (c) {
    case Columns::kNodeTypes:
      return data.node_types;
    case Columns::kClasses:
      return ClassNames();
    case Columns::kRoles:
      return data.roles;
  }
  return data.node_types;
}

// The per-tick matrices (ticks x columns, row-major), in file order.
template <typename T>
struct TickMatrix {
  const char* name;
  std::vector<T> TickSeries::*member;
  Columns columns;
  const char* units;
  const char* description;
};
constexpr TickMatrix<std::int32_t> kI32Matrices[] = {
    {"nodes_by_type", &TickSeries::nodes_by_type, Columns::kNodeTypes, "nodes",
     "active (not stopped) nodes per type at the end of the tick; columns follow node_types"},
    {"nodes_by_role", &TickSeries::nodes_by_role, Columns::kRoles, "nodes",
     "ready nodes holding each role at the end of the tick; columns follow roles"},
};
constexpr TickMatrix<double> kF64Matrices[] = {
    {"served_by_class", &TickSeries::served_by_class, Columns::kClasses, "requests",
     "requests of each class completed during the tick; columns follow classes"},
    {"dropped_by_class", &TickSeries::dropped_by_class, Columns::kClasses, "requests",
     "requests of each class dropped during the tick, throttled ones included; columns follow "
     "classes"},
    {"throttled_by_class", &TickSeries::throttled_by_class, Columns::kClasses, "requests",
     "requests of each class refused by admission control's rate limits during the tick; "
     "columns follow classes"},
    {"queued_by_class", &TickSeries::queued_by_class, Columns::kClasses, "requests",
     "requests of each class waiting at the end of the tick; columns follow classes"},
    {"demand_by_role", &TickSeries::demand_by_role, Columns::kRoles, "requests/s",
     "offered request rate of each role over the tick; columns follow roles"},
    {"utilization_by_role", &TickSeries::utilization_by_role, Columns::kRoles, "1",
     "CPU utilisation of each role's ready nodes, fraction 0..1; columns follow roles"},
};

constexpr char kDecisionsUnits[] =
    "time=s count=nodes replicas_before=nodes replicas_after=nodes metric=as the policy states "
    "(migrate: requests)";
constexpr char kRetrainsUnits[] = "time=s samples=samples old_mae=requests/s new_mae=requests/s";
std::vector<Column> RetrainColumns() {
  return {{"time", ColumnKind::kFloat64},    {"samples", ColumnKind::kInt32},
          {"old_mae", ColumnKind::kFloat64}, {"new_mae", ColumnKind::kFloat64},
          {"accepted", ColumnKind::kInt32},  {"reason", ColumnKind::kString}};
}

// The forecast matrices, in file order.
struct ForecastMatrix {
  const char* name;
  std::vector<double> ForecastSeries::*member;
  const char* description;
};
constexpr ForecastMatrix kForecastMatrices[] = {
    {"p10", &ForecastSeries::p10, "10 % quantile of the demand forecast"},
    {"p50", &ForecastSeries::p50, "median demand forecast"},
    {"p90", &ForecastSeries::p90, "90 % quantile of the demand forecast"},
    {"actual", &ForecastSeries::actual,
     "demand that came over the target sample (NaN past the end of the run)"},
};

std::vector<Column> DecisionColumns() {
  return {{"time", ColumnKind::kFloat64},         {"policy", ColumnKind::kString},
          {"node_type", ColumnKind::kString},     {"action", ColumnKind::kString},
          {"count", ColumnKind::kInt32},          {"replicas_before", ColumnKind::kInt32},
          {"replicas_after", ColumnKind::kInt32}, {"metric", ColumnKind::kFloat64},
          {"reason", ColumnKind::kString}};
}

// The series must line up with ticks.time, or the file would describe
// something that never happened. A mismatch is a bug in the caller, hence an
// internal error rather than bad input.
absl::Status CheckShapes(const std::string& path, const ResultsData& data) {
  const TickSeries& t = data.ticks;
  const std::size_t n = t.size();
  auto check = [&](const char* name, std::size_t got, std::size_t want) -> absl::Status {
    if (got == want) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(path, ": /ticks/", name, ": has ", got,
                                            " values, expected ", want, " (ticks.time has ", n,
                                            ")"));
  };
  auto check_matrix = [&](const char* name, std::size_t got, Columns columns) -> absl::Status {
    const std::size_t cols = ColumnLabels(columns, data).size();
    if (got == n * cols) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(path, ": /ticks/", name, ": has ", got,
                                            " values, expected ", n * cols, " (", n, " ticks x ",
                                            cols, " ", ColumnsName(columns), ")"));
  };
  for (const F64Series& s : kF64Series) {
    MESHTWIN_RETURN_IF_ERROR(check(s.name, (t.*s.member).size(), n));
  }
  MESHTWIN_RETURN_IF_ERROR(check("slo_violated", t.slo_violated.size(), n));
  for (const I32Series& s : kI32Series) {
    MESHTWIN_RETURN_IF_ERROR(check(s.name, (t.*s.member).size(), n));
  }
  for (const TickMatrix<std::int32_t>& m : kI32Matrices) {
    MESHTWIN_RETURN_IF_ERROR(check_matrix(m.name, (t.*m.member).size(), m.columns));
  }
  for (const TickMatrix<double>& m : kF64Matrices) {
    MESHTWIN_RETURN_IF_ERROR(check_matrix(m.name, (t.*m.member).size(), m.columns));
  }
  const NodeSnapshots& ns = data.nodes;
  if (ns.every > 0) {
    const std::size_t rows = ns.id.size();
    const bool ok = ns.offset.size() == ns.size() + 1 && ns.offset.front() == 0 &&
                    static_cast<std::size_t>(ns.offset.back()) == rows && ns.type.size() == rows &&
                    ns.role.size() == rows && ns.state.size() == rows &&
                    ns.utilization.size() == rows && ns.queued.size() == rows &&
                    (ns.zones == 0 || (ns.rack.size() == rows && ns.zone.size() == rows &&
                                       ns.reachable.size() == rows)) &&
                    (ns.links.empty() ||
                     (ns.link_offset.size() == ns.size() + 1 && ns.link_offset.front() == 0 &&
                      static_cast<std::size_t>(ns.link_offset.back()) == ns.link_from.size() &&
                      ns.link_to.size() == ns.link_from.size()));
    if (!ok) {
      return absl::InternalError(absl::StrCat(path, ": /nodes: the snapshot arrays disagree (",
                                              ns.size(), " snapshots, ", rows, " node rows)"));
    }
  }
  const ForecastSeries& f = data.forecasts;
  for (const ForecastMatrix& m : kForecastMatrices) {
    if ((f.*m.member).size() != f.size() * f.horizons.size()) {
      return absl::InternalError(absl::StrCat(path, ": /forecasts/", m.name, ": has ",
                                              (f.*m.member).size(), " values, expected ",
                                              f.size() * f.horizons.size()));
    }
  }
  return absl::OkStatus();
}

// A ticks x columns matrix with its units, description and column labels.
template <typename T>
absl::Status WriteTickMatrix(const hdf5::Writer& w, hid_t ticks, const TickMatrix<T>& m,
                             hid_t file_type, hid_t mem_type, const ResultsData& data) {
  const std::vector<std::string> labels = ColumnLabels(m.columns, data);
  const hsize_t n = data.ticks.size();
  MESHTWIN_ASSIGN_OR_RETURN(
      Handle ds, w.WriteDataset(ticks, "/ticks", m.name, file_type, mem_type, {n, labels.size()},
                                {std::min<hsize_t>(n, hdf5::kChunkRows), labels.size()},
                                (data.ticks.*m.member).data()));
  const std::string object = hdf5::Join("/ticks", m.name);
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "units", m.units));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "description", m.description));
  return w.WriteStringListAttribute(ds.get(), object, ColumnsName(m.columns), labels);
}

// A 1-D float64 attribute of one value per request class.
absl::Status WritePerClass(const hdf5::Writer& w, hid_t obj, absl::string_view obj_path,
                           const char* name, const PerClass& values) {
  const hsize_t dims[1] = {kNumClasses};
  Handle space = hdf5::SpaceHandle(H5Screate_simple(1, dims, nullptr));
  if (!space.valid()) return w.Fail(obj_path, "cannot make a dataspace of one value per class");
  return w.WriteAttribute(obj, obj_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(),
                          values.data());
}

absl::Status WriteNodes(const hdf5::Writer& w, hid_t file, const NodeSnapshots& n) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, w.CreateGroup(file, "/", "nodes"));
  const hid_t gid = g.get();
  const char* p = "/nodes";
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(gid, p, "every", H5T_STD_I32LE, H5T_NATIVE_INT32, n.every));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(gid, p, "links", n.links));
  std::vector<std::string> states;
  for (int i = 0; i < kNumNodeStates; ++i) states.push_back(ToString(static_cast<NodeState>(i)));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringListAttribute(gid, p, "states", states));
  const hsize_t rows = n.id.size();
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                          {n.time.size()}, n.time.data(), "s",
                                          "start of the tick each snapshot closes"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(
      w, gid, p, "offset", H5T_STD_I64LE, H5T_NATIVE_INT64, {n.offset.size()}, n.offset.data(),
      "rows", "snapshot s holds the node rows [offset[s], offset[s+1])"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "id", H5T_STD_I32LE, H5T_NATIVE_INT32, {rows},
                                          n.id.data(), "1", "node id, stable for the node's life"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "type", H5T_STD_I16LE, H5T_NATIVE_INT16,
                                          {rows}, n.type.data(), "1",
                                          "node type: index into the root attribute node_types"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(
      w, gid, p, "role", H5T_STD_I16LE, H5T_NATIVE_INT16, {rows}, n.role.data(), "1",
      "role served (while switching: the next role): index into the root attribute roles"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "state", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                                          {rows}, n.state.data(), "1",
                                          "node state: index into the attribute /nodes/states"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "utilization", H5T_IEEE_F32LE,
                                          H5T_NATIVE_FLOAT, {rows}, n.utilization.data(), "1",
                                          "CPU utilisation over the tick, fraction 0..1"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "queued", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                          {rows}, n.queued.data(), "requests",
                                          "requests waiting on the node at the end of the tick"));
  if (n.zones > 0) {
    MESHTWIN_RETURN_IF_ERROR(
        w.WriteNumberAttribute(gid, p, "zones", H5T_STD_I32LE, H5T_NATIVE_INT32, n.zones));
    MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(gid, p, "racks_per_zone", H5T_STD_I32LE,
                                                    H5T_NATIVE_INT32, n.racks_per_zone));
    MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "rack", H5T_STD_I16LE, H5T_NATIVE_INT16,
                                            {rows}, n.rack.data(), "1",
                                            "the rack the node sits on (faults.topology)"));
    MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "zone", H5T_STD_I16LE, H5T_NATIVE_INT16,
                                            {rows}, n.zone.data(), "1", "the rack's zone"));
    MESHTWIN_RETURN_IF_ERROR(WriteDescribed(
        w, gid, p, "reachable", H5T_STD_U8LE, H5T_NATIVE_UINT8, {rows}, n.reachable.data(), "1",
        "1 if the manager could reach the node's rack at the end of the tick"));
  }
  if (n.links.empty()) return absl::OkStatus();
  const hsize_t links = n.link_from.size();
  MESHTWIN_RETURN_IF_ERROR(
      WriteDescribed(w, gid, p, "link_offset", H5T_STD_I64LE, H5T_NATIVE_INT64,
                     {n.link_offset.size()}, n.link_offset.data(), "rows",
                     "snapshot s holds the link rows [link_offset[s], link_offset[s+1])"));
  MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, p, "link_from", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                          {links}, n.link_from.data(), "1",
                                          "overlay link: the node id holding the routing entry"));
  return WriteDescribed(w, gid, p, "link_to", H5T_STD_I32LE, H5T_NATIVE_INT32, {links},
                        n.link_to.data(), "1", "overlay link: the node id it points to");
}

absl::Status WriteContents(const hdf5::Writer& w, hid_t file, const ResultsData& data) {
  // Root attributes: what was run.
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "format", kFormatName));
  MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(file, "/", "format_version", H5T_STD_I32LE,
                                                  H5T_NATIVE_INT32, kFormatVersion));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "scenario_name", data.scenario_name));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "scenario", data.scenario_text));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "overrides", data.overrides));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "policy", data.policy));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(file, "/", "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, data.seed));
  MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(file, "/", "control_interval", H5T_IEEE_F64LE,
                                                  H5T_NATIVE_DOUBLE, data.control_interval));
  MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(file, "/", "trace_epoch", H5T_IEEE_F64LE,
                                                  H5T_NATIVE_DOUBLE, data.trace_epoch));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringListAttribute(file, "/", "node_types", data.node_types));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringListAttribute(file, "/", "roles", data.roles));

  // /ticks: one dataset per series.
  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle ticks, w.CreateGroup(file, "/", "ticks"));
    const TickSeries& t = data.ticks;
    const std::size_t n = t.size();
    for (const F64Series& s : kF64Series) {
      MESHTWIN_RETURN_IF_ERROR(WriteSeries(w, ticks.get(), s.name, H5T_IEEE_F64LE,
                                           H5T_NATIVE_DOUBLE, n, (t.*s.member).data(), s.units,
                                           s.description));
    }
    MESHTWIN_RETURN_IF_ERROR(WriteSeries(w, ticks.get(), "slo_violated", H5T_STD_U8LE,
                                         H5T_NATIVE_UINT8, n, t.slo_violated.data(), "1",
                                         "1 if the tick missed the SLO, else 0"));
    for (const I32Series& s : kI32Series) {
      MESHTWIN_RETURN_IF_ERROR(WriteSeries(w, ticks.get(), s.name, H5T_STD_I32LE, H5T_NATIVE_INT32,
                                           n, (t.*s.member).data(), "nodes", s.description));
    }
    for (const TickMatrix<std::int32_t>& m : kI32Matrices) {
      MESHTWIN_RETURN_IF_ERROR(
          WriteTickMatrix(w, ticks.get(), m, H5T_STD_I32LE, H5T_NATIVE_INT32, data));
    }
    for (const TickMatrix<double>& m : kF64Matrices) {
      MESHTWIN_RETURN_IF_ERROR(
          WriteTickMatrix(w, ticks.get(), m, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data));
    }
  }

  // /decisions
  {
    std::vector<Column> cols = DecisionColumns();
    for (const DecisionRecord& d : data.decisions) {
      cols[0].f64.push_back(d.time);
      cols[1].str.push_back(d.policy);
      cols[2].str.push_back(d.node_type);
      cols[3].str.push_back(d.action);
      cols[4].i32.push_back(d.count);
      cols[5].i32.push_back(d.replicas_before);
      cols[6].i32.push_back(d.replicas_after);
      cols[7].f64.push_back(d.metric);
      cols[8].str.push_back(d.reason);
    }
    MESHTWIN_RETURN_IF_ERROR(w.WriteTable(file, "decisions", cols, data.decisions.size(),
                                          kDecisionsUnits,
                                          "one row per action a policy carried out: "
                                          "scale_out, scale_in, change_role, migrate or "
                                          "set_admission"));
  }

  // /events
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteEvents(file, data.events, "global events of the run (end is NaN for an instant)"));

  // /forecasts and /retrains: only when a forecaster ran.
  if (!data.forecasts.horizons.empty()) {
    const ForecastSeries& f = data.forecasts;
    MESHTWIN_ASSIGN_OR_RETURN(Handle g, w.CreateGroup(file, "/", "forecasts"));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(g.get(), "/forecasts", "model", f.model));
    const hsize_t n = f.size(), h = f.horizons.size();
    const hid_t gid = g.get();
    MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, "/forecasts", "horizons", H5T_IEEE_F64LE,
                                            H5T_NATIVE_DOUBLE, {h}, f.horizons.data(), "s",
                                            nullptr));
    MESHTWIN_RETURN_IF_ERROR(WriteDescribed(
        w, gid, "/forecasts", "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n}, f.time.data(), "s",
        "forecast origins, seconds since the start of the run; target = origin + horizon"));
    for (const ForecastMatrix& m : kForecastMatrices) {
      MESHTWIN_RETURN_IF_ERROR(WriteDescribed(w, gid, "/forecasts", m.name, H5T_IEEE_F64LE,
                                              H5T_NATIVE_DOUBLE, {n, h}, (f.*m.member).data(),
                                              "requests/s", m.description));
    }
    std::vector<Column> cols = RetrainColumns();
    for (const RetrainRow& r : data.retrains) {
      cols[0].f64.push_back(r.time);
      cols[1].i32.push_back(r.samples);
      cols[2].f64.push_back(r.old_mae);
      cols[3].f64.push_back(r.new_mae);
      cols[4].i32.push_back(r.accepted);
      cols[5].str.push_back(r.reason);
    }
    MESHTWIN_RETURN_IF_ERROR(w.WriteTable(
        file, "retrains", cols, data.retrains.size(), kRetrainsUnits,
        "one row per retrain of the forecaster after drift (MAE on held-out recent data)"));
  }

  // /nodes: only when snapshots were recorded.
  if (data.nodes.every > 0) MESHTWIN_RETURN_IF_ERROR(WriteNodes(w, file, data.nodes));

  // /summary: one attribute per RunSummary field.
  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle g, w.CreateGroup(file, "/", "summary"));
    const RunSummary& s = data.summary;
    const hid_t h = g.get();
    const char* p = "/summary";
    auto f64 = [&](const char* name, double v) {
      return w.WriteNumberAttribute(h, p, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
    };
    auto i32 = [&](const char* name, int v) {
      return w.WriteNumberAttribute(h, p, name, H5T_STD_I32LE, H5T_NATIVE_INT, static_cast<int>(v));
    };
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(h, p, "scenario", s.scenario));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(h, p, "policy", s.policy));
    MESHTWIN_RETURN_IF_ERROR(
        w.WriteNumberAttribute(h, p, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, s.seed));
    MESHTWIN_RETURN_IF_ERROR(f64("duration", s.duration));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_total", s.requests_total));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_served", s.requests_served));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_dropped", s.requests_dropped));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_queued_at_end", s.requests_queued_at_end));
    MESHTWIN_RETURN_IF_ERROR(i32("slo_violation_minutes", s.slo_violation_minutes));
    MESHTWIN_RETURN_IF_ERROR(f64("node_hours", s.node_hours));
    MESHTWIN_RETURN_IF_ERROR(f64("cost", s.cost));
    MESHTWIN_RETURN_IF_ERROR(i32("peak_nodes", s.peak_nodes));
    MESHTWIN_RETURN_IF_ERROR(i32("scale_up_events", s.scale_up_events));
    MESHTWIN_RETURN_IF_ERROR(i32("scale_down_events", s.scale_down_events));
    MESHTWIN_RETURN_IF_ERROR(f64("mean_utilization", s.mean_utilization));
    MESHTWIN_RETURN_IF_ERROR(f64("mean_latency_s", s.mean_latency_s));
    MESHTWIN_RETURN_IF_ERROR(i32("ticks", s.ticks));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringListAttribute(h, p, "classes", ClassNames()));
    MESHTWIN_RETURN_IF_ERROR(WritePerClass(w, h, p, "dropped_by_class", s.dropped_by_class));
    MESHTWIN_RETURN_IF_ERROR(WritePerClass(w, h, p, "throttled_by_class", s.throttled_by_class));
    MESHTWIN_RETURN_IF_ERROR(i32("migrations", s.migrations));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_migrated", s.requests_migrated));
    MESHTWIN_RETURN_IF_ERROR(i32("role_switches", s.role_switches));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(h, p, "dht", s.dht));
    MESHTWIN_RETURN_IF_ERROR(f64("dht_messages", s.dht_messages));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_queries", s.dht_queries));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_queries_failed", s.dht_queries_failed));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_rejoins", s.dht_rejoins));
    MESHTWIN_RETURN_IF_ERROR(i32("nodes_discovered", s.nodes_discovered));
    MESHTWIN_RETURN_IF_ERROR(f64("discovery_delay_mean_s", s.discovery_delay_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("discovery_delay_max_s", s.discovery_delay_max_s));
    MESHTWIN_RETURN_IF_ERROR(i32("node_failures", s.node_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("domain_failures", s.domain_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("gray_failures", s.gray_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("partitions", s.partitions));
    MESHTWIN_RETURN_IF_ERROR(i32("manager_outages", s.manager_outages));
    MESHTWIN_RETURN_IF_ERROR(i32("isolations", s.isolations));
    MESHTWIN_RETURN_IF_ERROR(i32("replacements", s.replacements));
    MESHTWIN_RETURN_IF_ERROR(i32("failures_undetected", s.failures_undetected));
    MESHTWIN_RETURN_IF_ERROR(f64("detection_delay_mean_s", s.detection_delay_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("detection_delay_max_s", s.detection_delay_max_s));
    MESHTWIN_RETURN_IF_ERROR(f64("recovery_mean_s", s.recovery_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("recovery_max_s", s.recovery_max_s));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_lost_to_failures", s.requests_lost_to_failures));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Reading.

// The results file's reader: the shared defaults.
constexpr hdf5::Wording kWording;

// Reads dataset `name` of `group` (rank and type class checked) into `out`;
// `dims` receives its shape.
template <typename T>
absl::Status ReadArray(const hdf5::Reader& r, hid_t group, absl::string_view group_path,
                       const char* name, int rank, H5T_class_t cls, hid_t mem_type,
                       std::vector<T>* out, std::vector<hsize_t>* dims) {
  const std::string object = hdf5::Join(group_path, name);
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(group, object, name));
  Handle type = hdf5::TypeHandle(H5Dget_type(ds.get()));
  if (!type.valid() || H5Tget_class(type.get()) != cls) {
    return r.Bad(
        object, cls == H5T_FLOAT ? "is not a floating-point dataset" : "is not an integer dataset");
  }
  Handle space = hdf5::SpaceHandle(H5Dget_space(ds.get()));
  if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != rank) {
    return r.Bad(object, absl::StrCat("is not a ", rank, "-D dataset"));
  }
  dims->assign(static_cast<std::size_t>(rank), 0);
  H5Sget_simple_extent_dims(space.get(), dims->data(), nullptr);
  hsize_t elements = 1;
  for (hsize_t d : *dims) elements *= d;
  out->assign(elements, T{});
  if (elements > 0 && H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
    return r.Bad(object, r.wording().cannot_read);
  }
  return absl::OkStatus();
}

// Reads a ticks x columns matrix and checks its shape against the tick count
// and its column labels (the root node_types or roles, or the classes).
template <typename T>
absl::Status ReadTickMatrix(const hdf5::Reader& r, hid_t ticks, const TickMatrix<T>& m,
                            H5T_class_t cls, hid_t mem_type, hsize_t n, ResultsData& out) {
  std::vector<hsize_t> dims;
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, ticks, "/ticks", m.name, 2, cls, mem_type, &(out.ticks.*m.member), &dims));
  const std::size_t cols = ColumnLabels(m.columns, out).size();
  if (dims[0] != n || dims[1] != cols) {
    return r.Bad(hdf5::Join("/ticks", m.name),
                 absl::StrCat("has shape [", dims[0], " x ", dims[1], "], expected [", n, " x ",
                              cols, "] (ticks x ", ColumnsName(m.columns), ")"));
  }
  return absl::OkStatus();
}

// Reads a 1-D float64 attribute of one value per request class.
absl::Status ReadPerClass(const hdf5::Reader& r, hid_t obj, absl::string_view obj_path,
                          const char* name, PerClass* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle attr, r.OpenAttribute(obj, obj_path, name, H5T_FLOAT,
                                                         "an array of floating-point numbers"));
  const hssize_t points = hdf5::Reader::AttributePoints(attr.get());
  if (points != kNumClasses) {
    return r.Bad(obj_path,
                 absl::StrCat("attribute '", name, "' has ", points, " values, expected ",
                              kNumClasses, " (one per class: critical, standard, best_effort)"));
  }
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, out->data()) < 0) {
    return r.Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
  }
  return absl::OkStatus();
}

absl::Status ReadTicks(const hdf5::Reader& r, hid_t file, std::int32_t version, ResultsData& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "ticks"));
  TickSeries& t = out.ticks;
  std::vector<hsize_t> dims;
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, g.get(), "/ticks", "time", 1, H5T_FLOAT, H5T_NATIVE_DOUBLE, &t.time, &dims));
  const hsize_t n = dims[0];
  auto check_length = [&](const char* name) -> absl::Status {
    if (dims[0] == n) return absl::OkStatus();
    return r.Bad(hdf5::Join("/ticks", name),
                 absl::StrCat("has ", dims[0], " values but /ticks/time has ", n));
  };
  for (const F64Series& s : kF64Series) {
    if (s.member == &TickSeries::time) continue;
    if (version < 3 && SinceVersion3(s.name)) {
      (t.*s.member).assign(n, 0);
      continue;
    }
    MESHTWIN_RETURN_IF_ERROR(ReadArray(r, g.get(), "/ticks", s.name, 1, H5T_FLOAT,
                                       H5T_NATIVE_DOUBLE, &(t.*s.member), &dims));
    MESHTWIN_RETURN_IF_ERROR(check_length(s.name));
  }
  MESHTWIN_RETURN_IF_ERROR(ReadArray(r, g.get(), "/ticks", "slo_violated", 1, H5T_INTEGER,
                                     H5T_NATIVE_UINT8, &t.slo_violated, &dims));
  MESHTWIN_RETURN_IF_ERROR(check_length("slo_violated"));
  for (const I32Series& s : kI32Series) {
    if (version < 3 && SinceVersion3(s.name)) {
      (t.*s.member).assign(n, 0);
      continue;
    }
    MESHTWIN_RETURN_IF_ERROR(ReadArray(r, g.get(), "/ticks", s.name, 1, H5T_INTEGER,
                                       H5T_NATIVE_INT32, &(t.*s.member), &dims));
    MESHTWIN_RETURN_IF_ERROR(check_length(s.name));
  }
  for (const TickMatrix<std::int32_t>& m : kI32Matrices) {
    MESHTWIN_RETURN_IF_ERROR(ReadTickMatrix(r, g.get(), m, H5T_INTEGER, H5T_NATIVE_INT32, n, out));
  }
  for (const TickMatrix<double>& m : kF64Matrices) {
    MESHTWIN_RETURN_IF_ERROR(ReadTickMatrix(r, g.get(), m, H5T_FLOAT, H5T_NATIVE_DOUBLE, n, out));
  }
  return absl::OkStatus();
}

absl::Status ReadForecasts(const hdf5::Reader& r, hid_t file, ResultsData& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "forecasts"));
  ForecastSeries& f = out.forecasts;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(g.get(), "/forecasts", "model", &f.model));
  std::vector<hsize_t> dims;
  MESHTWIN_RETURN_IF_ERROR(ReadArray(r, g.get(), "/forecasts", "horizons", 1, H5T_FLOAT,
                                     H5T_NATIVE_DOUBLE, &f.horizons, &dims));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, g.get(), "/forecasts", "time", 1, H5T_FLOAT, H5T_NATIVE_DOUBLE, &f.time, &dims));
  for (const ForecastMatrix& m : kForecastMatrices) {
    MESHTWIN_RETURN_IF_ERROR(ReadArray(r, g.get(), "/forecasts", m.name, 2, H5T_FLOAT,
                                       H5T_NATIVE_DOUBLE, &(f.*m.member), &dims));
    if (dims[0] != f.time.size() || dims[1] != f.horizons.size()) {
      return r.Bad(hdf5::Join("/forecasts", m.name),
                   absl::StrCat("has shape [", dims[0], " x ", dims[1], "], expected [",
                                f.time.size(), " x ", f.horizons.size(), "] (origins x horizons)"));
    }
  }
  std::vector<Column> cols = RetrainColumns();
  MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, r.ReadTable(file, "retrains", cols));
  out.retrains.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    RetrainRow& row = out.retrains[i];
    row.time = cols[0].f64[i];
    row.samples = cols[1].i32[i];
    row.old_mae = cols[2].f64[i];
    row.new_mae = cols[3].f64[i];
    row.accepted = cols[4].i32[i];
    row.reason = std::move(cols[5].str[i]);
  }
  return absl::OkStatus();
}

// Snapshot offsets must start at 0, never decrease and end at the row count.
absl::Status CheckOffsets(const hdf5::Reader& r, const char* object,
                          const std::vector<std::int64_t>& offset, std::size_t snapshots,
                          std::size_t rows) {
  if (offset.size() != snapshots + 1) {
    return r.Bad(object, absl::StrCat("has ", offset.size(), " values, expected ", snapshots + 1,
                                      " (one per snapshot, plus one)"));
  }
  for (std::size_t i = 0; i < offset.size(); ++i) {
    const std::int64_t lo = i == 0 ? 0 : offset[i - 1];
    const std::int64_t hi = i + 1 == offset.size() ? static_cast<std::int64_t>(rows) : offset[i];
    if (offset[i] < lo || offset[i] > static_cast<std::int64_t>(rows) ||
        (i + 1 == offset.size() && offset[i] != hi) || (i == 0 && offset[i] != 0)) {
      return r.Bad(object,
                   absl::StrCat("value ", i, " (", offset[i],
                                ") breaks the rule 0 = offset[0] <= ... <= offset[last] = ", rows));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadNodes(const hdf5::Reader& r, hid_t file, ResultsData& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "nodes"));
  NodeSnapshots& n = out.nodes;
  const hid_t gid = g.get();
  const char* p = "/nodes";
  MESHTWIN_RETURN_IF_ERROR(r.ReadNumber(gid, p, "every", H5T_INTEGER, H5T_NATIVE_INT32, &n.every));
  if (n.every < 1)
    return r.Bad(p, absl::StrCat("attribute 'every' is ", n.every, ", expected >= 1"));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(gid, p, "links", &n.links));
  std::vector<hsize_t> dims;
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "time", 1, H5T_FLOAT, H5T_NATIVE_DOUBLE, &n.time, &dims));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "offset", 1, H5T_INTEGER, H5T_NATIVE_INT64, &n.offset, &dims));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "id", 1, H5T_INTEGER, H5T_NATIVE_INT32, &n.id, &dims));
  const std::size_t rows = n.id.size();
  MESHTWIN_RETURN_IF_ERROR(CheckOffsets(r, "/nodes/offset", n.offset, n.size(), rows));
  auto same_rows = [&](const char* name, std::size_t got) -> absl::Status {
    if (got == rows) return absl::OkStatus();
    return r.Bad(hdf5::Join(p, name),
                 absl::StrCat("has ", got, " values but /nodes/id has ", rows));
  };
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "type", 1, H5T_INTEGER, H5T_NATIVE_INT16, &n.type, &dims));
  MESHTWIN_RETURN_IF_ERROR(same_rows("type", n.type.size()));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "role", 1, H5T_INTEGER, H5T_NATIVE_INT16, &n.role, &dims));
  MESHTWIN_RETURN_IF_ERROR(same_rows("role", n.role.size()));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "state", 1, H5T_INTEGER, H5T_NATIVE_UINT8, &n.state, &dims));
  MESHTWIN_RETURN_IF_ERROR(same_rows("state", n.state.size()));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "utilization", 1, H5T_FLOAT, H5T_NATIVE_FLOAT, &n.utilization, &dims));
  MESHTWIN_RETURN_IF_ERROR(same_rows("utilization", n.utilization.size()));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "queued", 1, H5T_FLOAT, H5T_NATIVE_FLOAT, &n.queued, &dims));
  MESHTWIN_RETURN_IF_ERROR(same_rows("queued", n.queued.size()));
  // Indexes a viewer will follow must be in range.
  for (std::size_t i = 0; i < rows; ++i) {
    if (n.type[i] < 0 || static_cast<std::size_t>(n.type[i]) >= out.node_types.size()) {
      return r.Bad("/nodes/type",
                   absl::StrCat("value ", i, " (", n.type[i], ") is not an index into node_types"));
    }
    if (n.role[i] < 0 || static_cast<std::size_t>(n.role[i]) >= out.roles.size()) {
      return r.Bad("/nodes/role",
                   absl::StrCat("value ", i, " (", n.role[i], ") is not an index into roles"));
    }
    if (n.state[i] >= kNumNodeStates) {
      return r.Bad("/nodes/state",
                   absl::StrCat("value ", i, " (", int{n.state[i]}, ") is not a node state"));
    }
  }
  // Placement: only with a faults topology.
  if (H5Aexists(gid, "zones") > 0) {
    MESHTWIN_RETURN_IF_ERROR(
        r.ReadNumber(gid, p, "zones", H5T_INTEGER, H5T_NATIVE_INT32, &n.zones));
    MESHTWIN_RETURN_IF_ERROR(
        r.ReadNumber(gid, p, "racks_per_zone", H5T_INTEGER, H5T_NATIVE_INT32, &n.racks_per_zone));
    if (n.zones < 1 || n.racks_per_zone < 1) {
      return r.Bad(p, absl::StrCat("attributes zones (", n.zones, ") and racks_per_zone (",
                                   n.racks_per_zone, ") must be >= 1"));
    }
    MESHTWIN_RETURN_IF_ERROR(
        ReadArray(r, gid, p, "rack", 1, H5T_INTEGER, H5T_NATIVE_INT16, &n.rack, &dims));
    MESHTWIN_RETURN_IF_ERROR(same_rows("rack", n.rack.size()));
    MESHTWIN_RETURN_IF_ERROR(
        ReadArray(r, gid, p, "zone", 1, H5T_INTEGER, H5T_NATIVE_INT16, &n.zone, &dims));
    MESHTWIN_RETURN_IF_ERROR(same_rows("zone", n.zone.size()));
    MESHTWIN_RETURN_IF_ERROR(
        ReadArray(r, gid, p, "reachable", 1, H5T_INTEGER, H5T_NATIVE_UINT8, &n.reachable, &dims));
    MESHTWIN_RETURN_IF_ERROR(same_rows("reachable", n.reachable.size()));
    const int racks = n.zones * n.racks_per_zone;
    for (std::size_t i = 0; i < rows; ++i) {
      if (n.rack[i] < 0 || n.rack[i] >= racks || n.zone[i] != n.rack[i] / n.racks_per_zone) {
        return r.Bad("/nodes/rack", absl::StrCat("value ", i, " (rack ", n.rack[i], ", zone ",
                                                 n.zone[i], ") is not a rack of the topology"));
      }
    }
  }
  if (n.links.empty()) return absl::OkStatus();
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "link_offset", 1, H5T_INTEGER, H5T_NATIVE_INT64, &n.link_offset, &dims));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "link_from", 1, H5T_INTEGER, H5T_NATIVE_INT32, &n.link_from, &dims));
  MESHTWIN_RETURN_IF_ERROR(
      ReadArray(r, gid, p, "link_to", 1, H5T_INTEGER, H5T_NATIVE_INT32, &n.link_to, &dims));
  if (n.link_to.size() != n.link_from.size()) {
    return r.Bad("/nodes/link_to",
                 absl::StrCat("has ", n.link_to.size(), " values but /nodes/link_from has ",
                              n.link_from.size()));
  }
  return CheckOffsets(r, "/nodes/link_offset", n.link_offset, n.size(), n.link_from.size());
}

absl::Status ReadContents(const hdf5::Reader& r, hid_t file, ResultsData& out) {
  // Format and version first: for another schema, that is the whole story.
  std::string format;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "format", &format));
  if (format != kFormatName) {
    return r.Bad("/", absl::StrCat("format is '", format, "', expected '", kFormatName, "'"));
  }
  std::int32_t version = 0;
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "format_version", H5T_INTEGER, H5T_NATIVE_INT32, &version));
  if (version < kOldestReadableVersion || version > kFormatVersion) {
    return r.Bad("/", absl::StrCat("format_version ", version,
                                   " is not supported (this reader knows versions ",
                                   kOldestReadableVersion, " to ", kFormatVersion, ")"));
  }
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario_name", &out.scenario_name));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario", &out.scenario_text));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "overrides", &out.overrides));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "policy", &out.policy));
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "seed", H5T_INTEGER, H5T_NATIVE_UINT64, &out.seed));
  MESHTWIN_RETURN_IF_ERROR(r.ReadNumber(file, "/", "control_interval", H5T_FLOAT, H5T_NATIVE_DOUBLE,
                                        &out.control_interval));
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "trace_epoch", H5T_FLOAT, H5T_NATIVE_DOUBLE, &out.trace_epoch));
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "node_types", &out.node_types));
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "roles", &out.roles));

  MESHTWIN_RETURN_IF_ERROR(ReadTicks(r, file, version, out));

  {
    std::vector<Column> cols = DecisionColumns();
    MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, r.ReadTable(file, "decisions", cols));
    out.decisions.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      DecisionRecord& d = out.decisions[i];
      d.time = cols[0].f64[i];
      d.policy = std::move(cols[1].str[i]);
      d.node_type = std::move(cols[2].str[i]);
      d.action = std::move(cols[3].str[i]);
      d.count = cols[4].i32[i];
      d.replicas_before = cols[5].i32[i];
      d.replicas_after = cols[6].i32[i];
      d.metric = cols[7].f64[i];
      d.reason = std::move(cols[8].str[i]);
    }
  }
  MESHTWIN_ASSIGN_OR_RETURN(out.events, r.ReadEvents(file));
  if (H5Lexists(file, "forecasts", H5P_DEFAULT) > 0) {
    MESHTWIN_RETURN_IF_ERROR(ReadForecasts(r, file, out));
  }
  if (version >= 3 && H5Lexists(file, "nodes", H5P_DEFAULT) > 0) {
    MESHTWIN_RETURN_IF_ERROR(ReadNodes(r, file, out));
  }

  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "summary"));
  RunSummary& s = out.summary;
  const hid_t h = g.get();
  const char* p = "/summary";
  auto f64 = [&](const char* name, double* v) {
    return r.ReadNumber(h, p, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, v);
  };
  auto i32 = [&](const char* name, int* v) {
    return r.ReadNumber(h, p, name, H5T_INTEGER, H5T_NATIVE_INT, v);
  };
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(h, p, "scenario", &s.scenario));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(h, p, "policy", &s.policy));
  MESHTWIN_RETURN_IF_ERROR(r.ReadNumber(h, p, "seed", H5T_INTEGER, H5T_NATIVE_UINT64, &s.seed));
  MESHTWIN_RETURN_IF_ERROR(f64("duration", &s.duration));
  MESHTWIN_RETURN_IF_ERROR(f64("requests_total", &s.requests_total));
  MESHTWIN_RETURN_IF_ERROR(f64("requests_served", &s.requests_served));
  MESHTWIN_RETURN_IF_ERROR(f64("requests_dropped", &s.requests_dropped));
  MESHTWIN_RETURN_IF_ERROR(f64("requests_queued_at_end", &s.requests_queued_at_end));
  MESHTWIN_RETURN_IF_ERROR(i32("slo_violation_minutes", &s.slo_violation_minutes));
  MESHTWIN_RETURN_IF_ERROR(f64("node_hours", &s.node_hours));
  MESHTWIN_RETURN_IF_ERROR(f64("cost", &s.cost));
  MESHTWIN_RETURN_IF_ERROR(i32("peak_nodes", &s.peak_nodes));
  MESHTWIN_RETURN_IF_ERROR(i32("scale_up_events", &s.scale_up_events));
  MESHTWIN_RETURN_IF_ERROR(i32("scale_down_events", &s.scale_down_events));
  MESHTWIN_RETURN_IF_ERROR(f64("mean_utilization", &s.mean_utilization));
  MESHTWIN_RETURN_IF_ERROR(f64("mean_latency_s", &s.mean_latency_s));
  MESHTWIN_RETURN_IF_ERROR(i32("ticks", &s.ticks));
  MESHTWIN_RETURN_IF_ERROR(ReadPerClass(r, h, p, "dropped_by_class", &s.dropped_by_class));
  MESHTWIN_RETURN_IF_ERROR(ReadPerClass(r, h, p, "throttled_by_class", &s.throttled_by_class));
  MESHTWIN_RETURN_IF_ERROR(i32("migrations", &s.migrations));
  MESHTWIN_RETURN_IF_ERROR(f64("requests_migrated", &s.requests_migrated));
  MESHTWIN_RETURN_IF_ERROR(i32("role_switches", &s.role_switches));
  if (version >= 3) {
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(h, p, "dht", &s.dht));
    MESHTWIN_RETURN_IF_ERROR(f64("dht_messages", &s.dht_messages));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_queries", &s.dht_queries));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_queries_failed", &s.dht_queries_failed));
    MESHTWIN_RETURN_IF_ERROR(i32("dht_rejoins", &s.dht_rejoins));
    MESHTWIN_RETURN_IF_ERROR(i32("nodes_discovered", &s.nodes_discovered));
    MESHTWIN_RETURN_IF_ERROR(f64("discovery_delay_mean_s", &s.discovery_delay_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("discovery_delay_max_s", &s.discovery_delay_max_s));
    MESHTWIN_RETURN_IF_ERROR(i32("node_failures", &s.node_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("domain_failures", &s.domain_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("gray_failures", &s.gray_failures));
    MESHTWIN_RETURN_IF_ERROR(i32("partitions", &s.partitions));
    MESHTWIN_RETURN_IF_ERROR(i32("manager_outages", &s.manager_outages));
    MESHTWIN_RETURN_IF_ERROR(i32("isolations", &s.isolations));
    MESHTWIN_RETURN_IF_ERROR(i32("replacements", &s.replacements));
    MESHTWIN_RETURN_IF_ERROR(i32("failures_undetected", &s.failures_undetected));
    MESHTWIN_RETURN_IF_ERROR(f64("detection_delay_mean_s", &s.detection_delay_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("detection_delay_max_s", &s.detection_delay_max_s));
    MESHTWIN_RETURN_IF_ERROR(f64("recovery_mean_s", &s.recovery_mean_s));
    MESHTWIN_RETURN_IF_ERROR(f64("recovery_max_s", &s.recovery_max_s));
    MESHTWIN_RETURN_IF_ERROR(f64("requests_lost_to_failures", &s.requests_lost_to_failures));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteResultsFile(const std::string& path, const ResultsData& data) {
  MESHTWIN_RETURN_IF_ERROR(CheckShapes(path, data));
  return hdf5::WriteFileAtomically(
      path, [&](const hdf5::Writer& w, hid_t file) { return WriteContents(w, file, data); });
}

absl::StatusOr<ResultsData> ReadResultsFile(const std::string& path) {
  MESHTWIN_RETURN_IF_ERROR(hdf5::CheckExists(path));
  const hdf5::QuietErrors quiet;
  MESHTWIN_ASSIGN_OR_RETURN(Handle file, hdf5::OpenReadOnly(path));
  const hdf5::Reader r(path, kWording);
  ResultsData out;
  MESHTWIN_RETURN_IF_ERROR(ReadContents(r, file.get(), out));
  return out;
}

}  // namespace meshtwin
