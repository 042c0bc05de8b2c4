// The HDF5 sweep file. The schema is described in datasets/FORMAT.md ("Sweep
// files"); keep the two in step and bump kFormatVersion when a reader of the
// old version could no longer read what is written. The HDF5 plumbing is the
// one results and trace files use (datasets/hdf5_util.h).

#include "datasets/sweep_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "datasets/hdf5_util.h"

namespace meshtwin {
namespace {

using hdf5::Column;
using hdf5::ColumnKind;
using hdf5::Handle;

constexpr char kFormatName[] = "meshtwin-sweep";
constexpr std::int32_t kFormatVersion = 1;
constexpr char kNumericSuffix[] = ":num";

constexpr char kPointsDescription[] =
    "one row per point of the sweep that this file holds, sorted by index: the values of the "
    "parameters (as given, and as numbers), how the run ended, its summary figures and whether "
    "it is on the Pareto front of node_hours vs slo_violation_minutes";

// The /points table's columns, in file order. `names` must outlive the
// columns (Column keeps a pointer to the name).
struct PointColumns {
  std::vector<std::string> names;
  std::vector<Column> columns;
  std::size_t first_param = 0;   // columns[first_param + 2k] is param k, +1 its number
  std::size_t first_metric = 0;  // columns[first_metric + m] is metric m
};

PointColumns MakePointColumns(const std::vector<SweepParam>& params,
                              const std::vector<std::string>& metric_names) {
  PointColumns pc;
  pc.names = {"index", "exit_code", "error", "pareto"};
  for (const SweepParam& p : params) {
    pc.names.push_back(p.key);
    pc.names.push_back(p.key + kNumericSuffix);
  }
  for (const std::string& m : metric_names) pc.names.push_back(m);
  pc.columns.emplace_back(pc.names[0].c_str(), ColumnKind::kInt32);
  pc.columns.emplace_back(pc.names[1].c_str(), ColumnKind::kInt32);
  pc.columns.emplace_back(pc.names[2].c_str(), ColumnKind::kString);
  pc.columns.emplace_back(pc.names[3].c_str(), ColumnKind::kInt32);
  pc.first_param = pc.columns.size();
  for (std::size_t k = 0; k < params.size(); ++k) {
    pc.columns.emplace_back(pc.names[pc.first_param + 2 * k].c_str(), ColumnKind::kString);
    pc.columns.emplace_back(pc.names[pc.first_param + 2 * k + 1].c_str(), ColumnKind::kFloat64);
  }
  pc.first_metric = pc.columns.size();
  for (std::size_t m = 0; m < metric_names.size(); ++m) {
    pc.columns.emplace_back(pc.names[pc.first_metric + m].c_str(), ColumnKind::kFloat64);
  }
  return pc;
}

// ---------------------------------------------------------------------------
// Writing.

// A structural mismatch is a bug in the caller, not bad input.
absl::Status CheckShapes(const std::string& path, const SweepData& data) {
  const std::vector<std::string>& core = CoreSweepMetrics();
  if (data.metric_names.size() < core.size() ||
      !std::equal(core.begin(), core.end(), data.metric_names.begin())) {
    return absl::InternalError(
        absl::StrCat(path, ": metric_names must start with the core metrics (node_hours, ...)"));
  }
  for (const SweepParam& p : data.params) {
    if (p.key.empty() || p.key.find('/') != std::string::npos || p.key == "." ||
        p.key.find(':') != std::string::npos) {
      return absl::InternalError(
          absl::StrCat(path, ": parameter key '", p.key, "' cannot name an HDF5 object"));
    }
  }
  std::int32_t previous = -1;
  for (const SweepPoint& pt : data.points) {
    if (pt.values.size() != data.params.size() || pt.numeric.size() != data.params.size() ||
        pt.metrics.size() != data.metric_names.size()) {
      return absl::InternalError(
          absl::StrCat(path, ": point ", pt.index, " does not match the parameters or metrics"));
    }
    if (pt.index <= previous) {
      return absl::InternalError(absl::StrCat(path,
                                              ": points must be sorted by index without repeats (",
                                              pt.index, " after ", previous, ")"));
    }
    previous = pt.index;
  }
  return absl::OkStatus();
}

// A 1-D dataset of fixed-length strings, as wide as the longest.
absl::StatusOr<Handle> WriteStringDataset(const hdf5::Writer& w, hid_t parent,
                                          absl::string_view parent_path, const char* name,
                                          const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  Handle type = hdf5::StringType(width);
  if (!type.valid()) return w.Fail(hdf5::Join(parent_path, name), "cannot make a string type");
  std::string buf(std::max<std::size_t>(values.size(), 1) * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  }
  return w.WriteDataset(parent, parent_path, name, type.get(), type.get(), {values.size()}, {},
                        buf.data());
}

absl::Status WriteContents(const hdf5::Writer& w, hid_t file, const SweepData& data) {
  auto str = [&](const char* name, absl::string_view v) {
    return w.WriteStringAttribute(file, "/", name, v);
  };
  auto i32 = [&](const char* name, std::int32_t v) {
    return w.WriteNumberAttribute(file, "/", name, H5T_STD_I32LE, H5T_NATIVE_INT32, v);
  };
  auto list = [&](const char* name, const std::vector<std::string>& v) {
    return w.WriteStringListAttribute(file, "/", name, v);
  };
  MESHTWIN_RETURN_IF_ERROR(str("format", kFormatName));
  MESHTWIN_RETURN_IF_ERROR(i32("format_version", kFormatVersion));
  MESHTWIN_RETURN_IF_ERROR(str("scenario_name", data.scenario_name));
  MESHTWIN_RETURN_IF_ERROR(str("scenario_source", data.scenario_source));
  MESHTWIN_RETURN_IF_ERROR(str("scenario", data.scenario_text));
  MESHTWIN_RETURN_IF_ERROR(list("overrides", data.overrides));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(file, "/", "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, data.seed));
  MESHTWIN_RETURN_IF_ERROR(i32("random", data.random));
  MESHTWIN_RETURN_IF_ERROR(i32("total_points", data.total_points));
  MESHTWIN_RETURN_IF_ERROR(i32("planned_points", data.planned_points));
  MESHTWIN_RETURN_IF_ERROR(str("shard", data.shard));
  MESHTWIN_RETURN_IF_ERROR(list("merged_from", data.merged_from));
  std::vector<std::string> keys;
  for (const SweepParam& p : data.params) keys.push_back(p.key);
  MESHTWIN_RETURN_IF_ERROR(list("param_keys", keys));
  MESHTWIN_RETURN_IF_ERROR(list("metric_names", data.metric_names));

  // /params/KEY: the values of each parameter in grid order.
  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle g, w.CreateGroup(file, "/", "params"));
    for (const SweepParam& p : data.params) {
      const std::string object = hdf5::Join("/params", p.key);
      MESHTWIN_ASSIGN_OR_RETURN(Handle ds,
                                WriteStringDataset(w, g.get(), "/params", p.key.c_str(), p.values));
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "spec", p.spec));
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(
          ds.get(), object, "description",
          "the values of this parameter, in grid order (the index of a point runs over the last "
          "parameter fastest)"));
    }
  }

  // /points
  {
    PointColumns pc = MakePointColumns(data.params, data.metric_names);
    std::vector<Column>& c = pc.columns;
    for (const SweepPoint& pt : data.points) {
      c[0].i32.push_back(pt.index);
      c[1].i32.push_back(pt.exit_code);
      c[2].str.push_back(pt.error);
      c[3].i32.push_back(pt.pareto ? 1 : 0);
      for (std::size_t k = 0; k < data.params.size(); ++k) {
        c[pc.first_param + 2 * k].str.push_back(pt.values[k]);
        c[pc.first_param + 2 * k + 1].f64.push_back(pt.numeric[k]);
      }
      for (std::size_t m = 0; m < data.metric_names.size(); ++m) {
        c[pc.first_metric + m].f64.push_back(pt.metrics[m]);
      }
    }
    std::string units =
        "index=1 exit_code=1 pareto=1 node_hours=node-hours "
        "slo_violation_minutes=min cost=as node_types cost_per_hour "
        "wall_seconds=s mean_latency_s=s; other metrics as meshtwin simulate "
        "--json reports them";
    MESHTWIN_RETURN_IF_ERROR(
        w.WriteTable(file, "points", c, data.points.size(), units.c_str(), kPointsDescription));
  }

  // /missing
  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds,
                              w.WriteDataset(file, "/", "missing", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                             {data.missing.size()}, {}, data.missing.data()));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), "/missing", "units", "1"));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(
        ds.get(), "/missing", "description",
        "indices of planned points that no merged shard held (empty unless shard is 'merged')"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Reading.

constexpr hdf5::Wording kWording = [] {
  hdf5::Wording w;
  w.check_object_kind = true;
  w.describe_tables = true;
  return w;
}();

absl::Status ReadStringDataset(const hdf5::Reader& r, hid_t parent, const std::string& object,
                               const char* name, std::vector<std::string>* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(parent, object, name));
  Handle file_type = hdf5::TypeHandle(H5Dget_type(ds.get()));
  Handle space = hdf5::SpaceHandle(H5Dget_space(ds.get()));
  if (!file_type.valid() || !space.valid() || H5Tget_class(file_type.get()) != H5T_STRING ||
      H5Tis_variable_str(file_type.get()) != 0 || H5Sget_simple_extent_ndims(space.get()) != 1) {
    return r.Bad(object, absl::StrCat("expected a 1-D fixed-length string dataset, got ",
                                      hdf5::DescribeDataset(ds.get())));
  }
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  const std::size_t width = H5Tget_size(file_type.get());
  Handle mem_type = hdf5::ReadStringType(file_type.get());
  if (width == 0 || !mem_type.valid()) return r.Bad(object, "has an unusable string type");
  std::string buf(static_cast<std::size_t>(n) * width, '\0');
  if (n > 0 && H5Dread(ds.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    return r.Bad(object, r.wording().cannot_read);
  }
  out->clear();
  for (hsize_t i = 0; i < n; ++i) {
    out->push_back(hdf5::StripPadding(buf.data() + static_cast<std::size_t>(i) * width, width));
  }
  return absl::OkStatus();
}

absl::Status ReadContents(const hdf5::Reader& r, hid_t file, SweepData& out) {
  std::string format;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "format", &format));
  if (format != kFormatName) {
    return r.Bad("/", absl::StrCat("format is '", format, "', expected '", kFormatName,
                                   "' (not a sweep file)"));
  }
  std::int32_t version = 0;
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "format_version", H5T_INTEGER, H5T_NATIVE_INT32, &version));
  if (version != kFormatVersion) {
    return r.Bad(
        "/", absl::StrCat("format_version ", version,
                          " is not supported (this reader knows version ", kFormatVersion, ")"));
  }
  auto i32 = [&](const char* name, std::int32_t* v) {
    return r.ReadNumber(file, "/", name, H5T_INTEGER, H5T_NATIVE_INT32, v);
  };
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario_name", &out.scenario_name));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario_source", &out.scenario_source));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario", &out.scenario_text));
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "overrides", &out.overrides));
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "seed", H5T_INTEGER, H5T_NATIVE_UINT64, &out.seed));
  MESHTWIN_RETURN_IF_ERROR(i32("random", &out.random));
  MESHTWIN_RETURN_IF_ERROR(i32("total_points", &out.total_points));
  MESHTWIN_RETURN_IF_ERROR(i32("planned_points", &out.planned_points));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "shard", &out.shard));
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "merged_from", &out.merged_from));
  std::vector<std::string> keys;
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "param_keys", &keys));
  MESHTWIN_RETURN_IF_ERROR(r.ReadStringList(file, "/", "metric_names", &out.metric_names));
  for (const std::string& core : CoreSweepMetrics()) {
    if (std::find(out.metric_names.begin(), out.metric_names.end(), core) ==
        out.metric_names.end()) {
      return r.Bad("/", absl::StrCat("attribute 'metric_names' lacks '", core, "'"));
    }
  }

  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "params"));
    for (const std::string& key : keys) {
      SweepParam p;
      p.key = key;
      const std::string object = hdf5::Join("/params", key);
      MESHTWIN_RETURN_IF_ERROR(ReadStringDataset(r, g.get(), object, key.c_str(), &p.values));
      MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(g.get(), object, key.c_str()));
      MESHTWIN_RETURN_IF_ERROR(r.ReadString(ds.get(), object, "spec", &p.spec));
      out.params.push_back(std::move(p));
    }
  }

  {
    PointColumns pc = MakePointColumns(out.params, out.metric_names);
    std::vector<Column>& c = pc.columns;
    MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, r.ReadTable(file, "points", c));
    out.points.resize(rows);
    std::int32_t previous = -1;
    for (std::size_t i = 0; i < rows; ++i) {
      SweepPoint& pt = out.points[i];
      pt.index = c[0].i32[i];
      if (pt.index < 0 || pt.index >= out.total_points) {
        return r.Bad("/points",
                     absl::StrCat("row ", i, ": index ", pt.index, " is outside the grid of ",
                                  out.total_points, " points"));
      }
      if (pt.index <= previous) {
        return r.Bad("/points",
                     absl::StrCat("row ", i, ": index ", pt.index,
                                  pt.index == previous ? " appears twice" : " is out of order"));
      }
      previous = pt.index;
      pt.exit_code = c[1].i32[i];
      pt.error = std::move(c[2].str[i]);
      pt.pareto = c[3].i32[i] != 0;
      for (std::size_t k = 0; k < out.params.size(); ++k) {
        pt.values.push_back(std::move(c[pc.first_param + 2 * k].str[i]));
        pt.numeric.push_back(c[pc.first_param + 2 * k + 1].f64[i]);
      }
      for (std::size_t m = 0; m < out.metric_names.size(); ++m) {
        pt.metrics.push_back(c[pc.first_metric + m].f64[i]);
      }
    }
  }

  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(file, "/missing", "missing"));
    Handle type = hdf5::TypeHandle(H5Dget_type(ds.get()));
    Handle space = hdf5::SpaceHandle(H5Dget_space(ds.get()));
    if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_INTEGER ||
        H5Sget_simple_extent_ndims(space.get()) != 1) {
      return r.Bad("/missing", absl::StrCat("expected a 1-D integer dataset, got ",
                                            hdf5::DescribeDataset(ds.get())));
    }
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    out.missing.assign(static_cast<std::size_t>(n), 0);
    if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         out.missing.data()) < 0) {
      return r.Bad("/missing", r.wording().cannot_read);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSweepFile(const std::string& path, const SweepData& data) {
  MESHTWIN_RETURN_IF_ERROR(CheckShapes(path, data));
  return hdf5::WriteFileAtomically(
      path, [&](const hdf5::Writer& w, hid_t file) { return WriteContents(w, file, data); });
}

absl::StatusOr<SweepData> ReadSweepFile(const std::string& path) {
  MESHTWIN_RETURN_IF_ERROR(hdf5::CheckExists(path));
  const hdf5::QuietErrors quiet;
  MESHTWIN_ASSIGN_OR_RETURN(Handle file, hdf5::OpenReadOnly(path));
  const hdf5::Reader r(path, kWording);
  SweepData out;
  MESHTWIN_RETURN_IF_ERROR(ReadContents(r, file.get(), out));
  return out;
}

std::vector<std::int32_t> MarkParetoFront(std::vector<SweepPoint>& points,
                                          const std::vector<std::string>& metric_names) {
  const auto find = [&](const char* name) {
    return static_cast<std::size_t>(std::find(metric_names.begin(), metric_names.end(), name) -
                                    metric_names.begin());
  };
  const std::size_t nh = find("node_hours"), slo = find("slo_violation_minutes");
  std::vector<std::size_t> ran;
  for (std::size_t i = 0; i < points.size(); ++i) {
    SweepPoint& p = points[i];
    p.pareto = false;
    if (p.exit_code == 0 && nh < p.metrics.size() && slo < p.metrics.size() &&
        std::isfinite(p.metrics[nh]) && std::isfinite(p.metrics[slo])) {
      ran.push_back(i);
    }
  }
  auto key = [&](std::size_t i) {
    return std::make_tuple(points[i].metrics[nh], points[i].metrics[slo], points[i].index);
  };
  std::sort(ran.begin(), ran.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  // Walk groups of equal node_hours in increasing order. A point is dominated
  // when a cheaper point has no more violations, or a point of its own group
  // has fewer.
  double best_cheaper = INFINITY;
  std::vector<std::int32_t> front;
  for (std::size_t g = 0; g < ran.size();) {
    std::size_t end = g;
    while (end < ran.size() && points[ran[end]].metrics[nh] == points[ran[g]].metrics[nh]) ++end;
    const double group_min = points[ran[g]].metrics[slo];  // sorted: the first is the least
    for (std::size_t k = g; k < end; ++k) {
      SweepPoint& p = points[ran[k]];
      const double v = p.metrics[slo];
      if (v < best_cheaper && v == group_min) {
        p.pareto = true;
        front.push_back(p.index);
      }
    }
    best_cheaper = std::min(best_cheaper, group_min);
    g = end;
  }
  return front;
}

}  // namespace meshtwin
