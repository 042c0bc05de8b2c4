#include "datasets/shadow_file.h"

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "datasets/hdf5_util.h"

namespace meshtwin {
namespace {

using hdf5::Column;
using hdf5::ColumnKind;
using hdf5::Handle;

constexpr const char* kFormatName = "meshtwin-shadow";
constexpr std::int32_t kFormatVersion = 1;

// The newer, more telling wording (as the sweep file's): a link of the wrong
// kind is named as such, a table of the wrong shape is described.
constexpr hdf5::Wording kWording = [] {
  hdf5::Wording w;
  w.check_object_kind = true;
  w.describe_tables = true;
  return w;
}();

// Root attributes read by name; every other string attribute goes to `about`.
const std::set<std::string>& KnownAttributes() {
  static const std::set<std::string> names = {"format",
                                              "version",
                                              "scenario",
                                              "policy",
                                              "node_type",
                                              "node_rps",
                                              "interval",
                                              "slo_utilization_ceiling",
                                              "production_node_hours",
                                              "would_be_node_hours",
                                              "production_cost",
                                              "would_be_cost",
                                              "intervals",
                                              "missing_intervals",
                                              "production_risk_intervals",
                                              "would_be_risk_intervals"};
  return names;
}

// A value in a message in full: absl::StrCat keeps six digits, which turns
// unix times into 1.8e+09.
std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// Reads the 1-D dataset /steps/NAME of type class `cls` into `out`.
template <typename T>
absl::Status ReadStep(const hdf5::Reader& r, hid_t steps, const char* name, H5T_class_t cls,
                      hid_t mem_type, std::vector<T>* out) {
  const std::string object = hdf5::Join("/steps", name);
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(steps, object, name));
  Handle type = hdf5::TypeHandle(H5Dget_type(ds.get()));
  Handle space = hdf5::SpaceHandle(H5Dget_space(ds.get()));
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != cls ||
      H5Sget_simple_extent_ndims(space.get()) != 1) {
    return r.Bad(object, absl::StrCat("expected a 1-D ", cls == H5T_FLOAT ? "float" : "integer",
                                      " dataset, got ", hdf5::DescribeDataset(ds.get())));
  }
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  out->assign(static_cast<std::size_t>(n), T{});
  if (n > 0 && H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
    return r.Bad(object, r.wording().cannot_read);
  }
  return absl::OkStatus();
}

absl::Status ReadAttributes(const hdf5::Reader& r, hid_t file, ShadowFileAttributes& a) {
  std::string format;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "format", &format));
  if (format != kFormatName) {
    return r.Bad("/", absl::StrCat("format is '", format, "', expected '", kFormatName,
                                   "' (not a shadow file)"));
  }
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "version", H5T_INTEGER, H5T_NATIVE_INT32, &a.version));
  if (a.version != kFormatVersion) {
    return r.Bad(
        "/", absl::StrCat("version ", a.version, " is not supported (this reader knows version ",
                          kFormatVersion, ")"));
  }
  auto f64 = [&](const char* name, double* v) {
    return r.ReadNumber(file, "/", name, H5T_FLOAT, H5T_NATIVE_DOUBLE, v);
  };
  auto i32 = [&](const char* name, std::int32_t* v) {
    return r.ReadNumber(file, "/", name, H5T_INTEGER, H5T_NATIVE_INT32, v);
  };
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "scenario", &a.scenario));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "policy", &a.policy));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "node_type", &a.node_type));
  MESHTWIN_RETURN_IF_ERROR(f64("node_rps", &a.node_rps));
  MESHTWIN_RETURN_IF_ERROR(f64("interval", &a.interval));
  MESHTWIN_RETURN_IF_ERROR(f64("slo_utilization_ceiling", &a.slo_utilization_ceiling));
  MESHTWIN_RETURN_IF_ERROR(f64("production_node_hours", &a.production_node_hours));
  MESHTWIN_RETURN_IF_ERROR(f64("would_be_node_hours", &a.would_be_node_hours));
  MESHTWIN_RETURN_IF_ERROR(f64("production_cost", &a.production_cost));
  MESHTWIN_RETURN_IF_ERROR(f64("would_be_cost", &a.would_be_cost));
  MESHTWIN_RETURN_IF_ERROR(i32("intervals", &a.intervals));
  MESHTWIN_RETURN_IF_ERROR(i32("missing_intervals", &a.missing_intervals));
  MESHTWIN_RETURN_IF_ERROR(i32("production_risk_intervals", &a.production_risk_intervals));
  MESHTWIN_RETURN_IF_ERROR(i32("would_be_risk_intervals", &a.would_be_risk_intervals));
  // The step length scales every time axis and node-hour figure.
  if (!std::isfinite(a.interval) || a.interval <= 0) {
    return r.Bad("/", absl::StrCat("attribute 'interval' is ", Number(a.interval),
                                   ", expected a positive number of seconds"));
  }
  if (!std::isfinite(a.node_rps) || a.node_rps < 0) {
    return r.Bad("/", absl::StrCat("attribute 'node_rps' is ", Number(a.node_rps),
                                   ", expected a finite number >= 0"));
  }

  // The writer adds free-form string attributes (the Prometheus URL and the
  // queries): keep them all rather than a fixed list.
  std::vector<std::string> names;
  hsize_t index = 0;
  const herr_t walked = H5Aiterate2(
      file, H5_INDEX_NAME, H5_ITER_INC, &index,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  if (walked < 0) return r.Bad("/", "cannot list the root attributes");
  for (const std::string& name : names) {
    if (KnownAttributes().count(name) != 0) continue;
    Handle attr = hdf5::AttributeHandle(H5Aopen(file, name.c_str(), H5P_DEFAULT));
    Handle type = attr.valid() ? hdf5::TypeHandle(H5Aget_type(attr.get())) : Handle();
    if (!type.valid() || H5Tget_class(type.get()) != H5T_STRING) continue;
    std::string value;
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", name.c_str(), &value));
    a.about[name] = std::move(value);
  }
  return absl::OkStatus();
}

absl::Status ReadSteps(const hdf5::Reader& r, hid_t file, ShadowFileSteps& s) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "steps"));
  const H5T_class_t F = H5T_FLOAT, I = H5T_INTEGER;
  const hid_t FM = H5T_NATIVE_DOUBLE, IM = H5T_NATIVE_INT32;
  MESHTWIN_RETURN_IF_ERROR(ReadStep(r, g.get(), "time", F, FM, &s.time));
  const std::size_t n = s.time.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(s.time[i])) {
      return r.Bad("/steps/time", absl::StrCat("row ", i, " is not a finite time"));
    }
    if (i > 0 && !(s.time[i] > s.time[i - 1])) {
      return r.Bad("/steps/time",
                   absl::StrCat("row ", i, " (", Number(s.time[i]), ") is not after row ", i - 1,
                                " (", Number(s.time[i - 1]), "): times must increase"));
    }
  }
  struct F64 {
    const char* name;
    std::vector<double> ShadowFileSteps::*member;
  };
  for (const F64& f : {F64{"demand", &ShadowFileSteps::demand},
                       F64{"production_nodes", &ShadowFileSteps::production_nodes},
                       F64{"production_capacity", &ShadowFileSteps::production_capacity},
                       F64{"would_be_nodes", &ShadowFileSteps::would_be_nodes},
                       F64{"would_be_ready", &ShadowFileSteps::would_be_ready},
                       F64{"would_be_capacity", &ShadowFileSteps::would_be_capacity},
                       F64{"forecast_p50", &ShadowFileSteps::forecast_p50}}) {
    MESHTWIN_RETURN_IF_ERROR(ReadStep(r, g.get(), f.name, F, FM, &(s.*f.member)));
    if ((s.*f.member).size() != n) {
      return r.Bad(hdf5::Join("/steps", f.name),
                   absl::StrCat("has ", (s.*f.member).size(), " values but /steps/time has ", n));
    }
  }
  struct I32 {
    const char* name;
    std::vector<std::int32_t> ShadowFileSteps::*member;
    std::int32_t max;  // values are -1 (no data) .. max
  };
  for (const I32& f : {I32{"desired_nodes", &ShadowFileSteps::desired_nodes, INT32_MAX},
                       I32{"production_at_risk", &ShadowFileSteps::production_at_risk, 1},
                       I32{"would_be_at_risk", &ShadowFileSteps::would_be_at_risk, 1}}) {
    const std::string object = hdf5::Join("/steps", f.name);
    const std::vector<std::int32_t>& v = s.*f.member;
    MESHTWIN_RETURN_IF_ERROR(ReadStep(r, g.get(), f.name, I, IM, &(s.*f.member)));
    if (v.size() != n) {
      return r.Bad(object, absl::StrCat("has ", v.size(), " values but /steps/time has ", n));
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (v[i] < -1 || v[i] > f.max) {
        return r.Bad(object, absl::StrCat("row ", i, " is ", v[i], ", expected -1 (no data) to ",
                                          f.max == 1 ? "1" : "any node count"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReadDecisions(const hdf5::Reader& r, hid_t file,
                           std::vector<ShadowFileDecision>& out) {
  std::vector<Column> c = {
      {"time", ColumnKind::kFloat64},          {"action", ColumnKind::kString},
      {"node_type", ColumnKind::kString},      {"count", ColumnKind::kInt32},
      {"replicas_before", ColumnKind::kInt32}, {"replicas_after", ColumnKind::kInt32},
      {"metric", ColumnKind::kFloat64},        {"reason", ColumnKind::kString}};
  MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, r.ReadTable(file, "decisions", c));
  out.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    ShadowFileDecision& d = out[i];
    d.time = c[0].f64[i];
    if (!std::isfinite(d.time)) {
      return r.Bad("/decisions", absl::StrCat("row ", i, ": time is not a finite number"));
    }
    d.action = std::move(c[1].str[i]);
    d.node_type = std::move(c[2].str[i]);
    d.count = c[3].i32[i];
    d.replicas_before = c[4].i32[i];
    d.replicas_after = c[5].i32[i];
    d.metric = c[6].f64[i];
    d.reason = std::move(c[7].str[i]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ShadowFileData> ReadShadowFile(const std::string& path) {
  MESHTWIN_RETURN_IF_ERROR(hdf5::CheckExists(path));
  const hdf5::QuietErrors quiet;
  MESHTWIN_ASSIGN_OR_RETURN(Handle file, hdf5::OpenReadOnly(path));
  const hdf5::Reader r(path, kWording);
  ShadowFileData out;
  MESHTWIN_RETURN_IF_ERROR(ReadAttributes(r, file.get(), out.attributes));
  MESHTWIN_RETURN_IF_ERROR(ReadSteps(r, file.get(), out.steps));
  MESHTWIN_RETURN_IF_ERROR(ReadDecisions(r, file.get(), out.decisions));
  return out;
}

}  // namespace meshtwin
