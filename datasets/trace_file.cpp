// The HDF5 trace file. The schema is described in datasets/FORMAT.md ("Trace
// files"); keep the two in step, and bump kFormatVersion when a reader of the
// old version could no longer read what is written.
//
// The HDF5 plumbing (RAII handles, quiet error stack, fixed-length strings,
// tables, the atomic write) is shared with datasets/results_file.cpp through
// datasets/hdf5_util.h: both files promise the same determinism and the same
// error style.

#include "datasets/trace_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "datasets/hdf5_util.h"

namespace meshtwin {
namespace {

using hdf5::Handle;

constexpr char kFormatName[] = "meshtwin-trace";
constexpr std::int32_t kFormatVersion = 1;

constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";

// The name of the dataset that holds a channel. Channel names are free text
// (Prometheus series look like cpu{instance="a/b"}); HDF5 link names may not
// contain '/' nor be ".", so those characters, '%' itself and control bytes
// are %-escaped. The true name is the dataset's `name` attribute; this one
// only has to be legal, unique and recognisable in h5ls.
std::string ChannelDatasetName(const std::string& name) {
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '%' || u < 0x20 || u == 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (out == "." || out == "..") out.replace(0, 1, "%2E");
  return out;
}

// ---------------------------------------------------------------------------
// Writing.

// A trace the reader would reject must not be written: these are caller bugs
// (Internal), reported before anything touches the disk.
absl::Status CheckTrace(const std::string& path, const Trace& trace) {
  if (!(trace.step > 0) || !std::isfinite(trace.step)) {
    return absl::InternalError(
        absl::StrCat(path, ": /: step is ", trace.step, ", expected a positive number of seconds"));
  }
  if (!std::isfinite(trace.start) || !std::isfinite(trace.epoch)) {
    return absl::InternalError(absl::StrCat(path, ": /: start (", trace.start, ") and epoch (",
                                            trace.epoch, ") must be finite"));
  }
  for (const TraceChannel& c : trace.channels) {
    if (c.values.size() != trace.demand.size()) {
      return absl::InternalError(absl::StrCat(path, ": /channels: channel '", c.name, "' has ",
                                              c.values.size(), " values, expected ",
                                              trace.demand.size(), " (the length of demand)"));
    }
  }
  return absl::OkStatus();
}

// A 1-D float64 series under `parent`, chunked and deflated when non-empty.
absl::StatusOr<Handle> WriteSeries(const hdf5::Writer& w, hid_t parent,
                                   absl::string_view parent_path, const char* name,
                                   const std::vector<double>& values) {
  const hsize_t n = values.size();
  return w.WriteDataset(parent, parent_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {n},
                        {std::min(n, hdf5::kChunkRows)}, values.data());
}

absl::Status WriteContents(const hdf5::Writer& w, hid_t file, const Trace& trace) {
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "format", kFormatName));
  MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(file, "/", "format_version", H5T_STD_I32LE,
                                                  H5T_NATIVE_INT32, kFormatVersion));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(file, "/", "start", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.start));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(file, "/", "step", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.step));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumberAttribute(file, "/", "epoch", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.epoch));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "unit", trace.unit));
  MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(file, "/", "provenance", trace.provenance));

  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle demand, WriteSeries(w, file, "/", "demand", trace.demand));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(demand.get(), "/demand", "units", trace.unit));
    MESHTWIN_RETURN_IF_ERROR(
        w.WriteStringAttribute(demand.get(), "/demand", "description",
                               "sample i covers [start + i*step, start + (i+1)*step) "
                               "in trace time; NaN = missing"));
  }

  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle group, w.CreateGroup(file, "/", "channels"));
    std::set<std::string> used;
    for (std::size_t i = 0; i < trace.channels.size(); ++i) {
      const TraceChannel& c = trace.channels[i];
      // Escaping can make two names equal (and names may repeat): suffix the
      // order until the link name is free. Deterministic for equal input.
      const std::string base = ChannelDatasetName(c.name);
      std::string name = base.empty() ? absl::StrCat("~", i) : base;
      for (std::size_t k = i; used.count(name) != 0; ++k) name = absl::StrCat(base, "~", k);
      used.insert(name);
      const std::string object = hdf5::Join("/channels", name);
      MESHTWIN_ASSIGN_OR_RETURN(Handle ds,
                                WriteSeries(w, group.get(), "/channels", name.c_str(), c.values));
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "name", c.name));
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "kind", c.kind));
      MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(ds.get(), object, "unit", c.unit));
      MESHTWIN_RETURN_IF_ERROR(w.WriteNumberAttribute(ds.get(), object, "order", H5T_STD_I32LE,
                                                      H5T_NATIVE_INT32,
                                                      static_cast<std::int32_t>(i)));
    }
  }

  return w.WriteEvents(file, trace.events,
                       "global events attached to the trace, in trace time (end is NaN for an "
                       "instant)");
}

// ---------------------------------------------------------------------------
// Reading.

// This reader checks what kind of object a link is and says what it found.
constexpr hdf5::Wording kWording = {
    .check_object_kind = true,
    .float_attribute = "a single floating-point number",
    .integer_attribute = "a single integer",
    .several_floats = "a single floating-point number",
    .several_integers = "a single integer",
    .several_strings = "a fixed-length string",
    .describe_tables = true,
    .float_field = "floating-point",
    .cannot_read = "cannot read dataset (damaged or truncated file?)",
};

// Reads a 1-D float64 dataset (any byte order) into `out`.
absl::Status ReadSeries(const hdf5::Reader& r, hid_t parent, absl::string_view object,
                        const char* name, std::vector<double>* out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, r.OpenDataset(parent, object, name));
  Handle type = hdf5::TypeHandle(H5Dget_type(ds.get()));
  Handle space = hdf5::SpaceHandle(H5Dget_space(ds.get()));
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_FLOAT ||
      H5Tget_size(type.get()) != sizeof(double) || H5Sget_simple_extent_ndims(space.get()) != 1) {
    return r.Bad(object,
                 absl::StrCat("expected 1-D float64, got ", hdf5::DescribeDataset(ds.get())));
  }
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  out->assign(n, 0.0);
  if (n > 0 &&
      H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
    return r.Bad(object, r.wording().cannot_read);
  }
  return absl::OkStatus();
}

// Names of the links in a group, in HDF5's name order (the reader sorts the
// channels by their `order` attribute afterwards).
absl::StatusOr<std::vector<std::string>> LinkNames(const hdf5::Reader& r, hid_t group,
                                                   absl::string_view object) {
  std::vector<std::string> names;
  hsize_t index = 0;
  const herr_t status = H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, &index,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  if (status < 0) return r.Bad(object, "cannot list the group");
  return names;
}

absl::Status ReadChannels(const hdf5::Reader& r, hid_t file, std::size_t n, Trace& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle group, r.OpenGroup(file, "/", "channels"));
  MESHTWIN_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                            LinkNames(r, group.get(), "/channels"));
  std::vector<TraceChannel> channels(names.size());
  std::vector<std::string> placed(names.size());  // which dataset holds each order
  for (const std::string& name : names) {
    const std::string object = hdf5::Join("/channels", name);
    TraceChannel c;
    MESHTWIN_RETURN_IF_ERROR(ReadSeries(r, group.get(), object, name.c_str(), &c.values));
    if (c.values.size() != n) {
      return r.Bad(object, absl::StrCat("has ", c.values.size(), " values but /demand has ", n));
    }
    Handle ds = hdf5::DatasetHandle(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT));
    if (!ds.valid()) return r.Bad(object, "cannot open dataset");
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(ds.get(), object, "name", &c.name));
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(ds.get(), object, "kind", &c.kind));
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(ds.get(), object, "unit", &c.unit));
    std::int64_t order = -1;
    MESHTWIN_RETURN_IF_ERROR(
        r.ReadNumber(ds.get(), object, "order", H5T_INTEGER, H5T_NATIVE_INT64, &order));
    if (order < 0 || static_cast<std::size_t>(order) >= names.size()) {
      return r.Bad(object, absl::StrCat("attribute 'order' is ", order, ", expected 0..",
                                        names.size() - 1, " (one per channel)"));
    }
    const auto slot = static_cast<std::size_t>(order);
    if (!placed[slot].empty()) {
      return r.Bad(object, absl::StrCat("attribute 'order' is ", order, ", the same as ",
                                        hdf5::Join("/channels", placed[slot])));
    }
    placed[slot] = name;
    channels[slot] = std::move(c);
  }
  out.channels = std::move(channels);
  return absl::OkStatus();
}

absl::Status ReadContents(const hdf5::Reader& r, hid_t file, Trace& out) {
  // Format and version first: for another schema, that is the whole story.
  if (H5Aexists(file, "format") <= 0) {
    return r.Bad("/", "missing attribute 'format' (not a meshtwin trace file)");
  }
  std::string format;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "format", &format));
  if (format != kFormatName) {
    return r.Bad("/", absl::StrCat("format is '", format, "', expected '", kFormatName, "'"));
  }
  std::int64_t version = 0;
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "format_version", H5T_INTEGER, H5T_NATIVE_INT64, &version));
  if (version != kFormatVersion) {
    return r.Bad(
        "/", absl::StrCat("format_version ", version,
                          " is not supported (this reader knows version ", kFormatVersion, ")"));
  }
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "start", H5T_FLOAT, H5T_NATIVE_DOUBLE, &out.start));
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "step", H5T_FLOAT, H5T_NATIVE_DOUBLE, &out.step));
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "epoch", H5T_FLOAT, H5T_NATIVE_DOUBLE, &out.epoch));
  if (!(out.step > 0) || !std::isfinite(out.step)) {
    return r.Bad("/", absl::StrCat("attribute 'step' is ", out.step,
                                   ", expected a positive number of seconds"));
  }
  if (!std::isfinite(out.start)) {
    return r.Bad("/", absl::StrCat("attribute 'start' is ", out.start, ", expected a finite time"));
  }
  if (!std::isfinite(out.epoch)) {
    return r.Bad("/",
                 absl::StrCat("attribute 'epoch' is ", out.epoch, ", expected a finite unix time"));
  }
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "unit", &out.unit));
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "provenance", &out.provenance));

  MESHTWIN_RETURN_IF_ERROR(ReadSeries(r, file, "/demand", "demand", &out.demand));
  {
    Handle demand = hdf5::DatasetHandle(H5Dopen2(file, "demand", H5P_DEFAULT));
    std::string units;
    if (!demand.valid()) return r.Bad("/demand", "cannot open dataset");
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(demand.get(), "/demand", "units", &units));
  }
  MESHTWIN_RETURN_IF_ERROR(ReadChannels(r, file, out.demand.size(), out));

  MESHTWIN_ASSIGN_OR_RETURN(out.events, r.ReadEvents(file));
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTraceFile(const std::string& path, const Trace& trace) {
  MESHTWIN_RETURN_IF_ERROR(CheckTrace(path, trace));
  return hdf5::WriteFileAtomically(
      path, [&](const hdf5::Writer& w, hid_t file) { return WriteContents(w, file, trace); });
}

absl::StatusOr<Trace> ReadTraceFile(const std::string& path) {
  MESHTWIN_RETURN_IF_ERROR(hdf5::CheckExists(path));
  const hdf5::QuietErrors quiet;
  // The signature first: anything without one (a directory, an unreadable
  // file, a CSV) is "not an HDF5 file" rather than whatever H5Fopen says.
  if (!LooksLikeHdf5(path) && H5Fis_hdf5(path.c_str()) <= 0) {
    hdf5::Cause();
    return hdf5::NotHdf5Error(path);
  }
  MESHTWIN_ASSIGN_OR_RETURN(Handle file, hdf5::OpenReadOnly(path));
  const hdf5::Reader r(path, kWording);
  Trace out;
  MESHTWIN_RETURN_IF_ERROR(ReadContents(r, file.get(), out));
  return out;
}

bool LooksLikeHdf5(const std::string& path) {
  char buf[8] = {};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  const std::size_t got = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  return got == sizeof buf && std::memcmp(buf, kHdf5Signature, sizeof buf) == 0;
}

}  // namespace meshtwin
