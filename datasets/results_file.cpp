// The HDF5 results file. The schema is described in datasets/FORMAT.md; keep
// the two in step (and bump kFormatVersion when a reader of the old version
// could no longer read what is written).

#include "datasets/results_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace meshtwin {
namespace {

constexpr char kFormatName[] = "meshtwin-results";
constexpr std::int32_t kFormatVersion = 1;

// Tick series are stored in chunks of this many rows (64 KiB of float64),
// deflated at level 1 after byte shuffling. On a week of 15 s ticks that cut
// the file from 4.0 MB to 0.6 MB for about 9 ms more write time (figures in
// FORMAT.md): worth it for files that are kept and copied around.
constexpr hsize_t kChunkRows = 8192;
constexpr unsigned kDeflateLevel = 1;

// ---------------------------------------------------------------------------
// Small RAII wrappers over the HDF5 C API.

// Owns one HDF5 identifier and releases it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Close();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~Handle() { Close(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

  // Releases the identifier now. Returns false if HDF5 reports a failure,
  // which matters for files: closing one flushes it.
  bool Close() {
    if (id_ < 0) return true;
    const herr_t r = closer_(std::exchange(id_, H5I_INVALID_HID));
    return r >= 0;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

Handle FileHandle(hid_t id) { return Handle(id, H5Fclose); }
Handle GroupHandle(hid_t id) { return Handle(id, H5Gclose); }
Handle DatasetHandle(hid_t id) { return Handle(id, H5Dclose); }
Handle AttributeHandle(hid_t id) { return Handle(id, H5Aclose); }
Handle SpaceHandle(hid_t id) { return Handle(id, H5Sclose); }
Handle TypeHandle(hid_t id) { return Handle(id, H5Tclose); }
Handle PropsHandle(hid_t id) { return Handle(id, H5Pclose); }

// HDF5 prints its error stack to stderr on every failure unless told not to.
// Our callers get absl errors instead, so the printing is switched off for the
// duration of a call and the previous setting restored afterwards (other code
// in the process may rely on it).
class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The most specific message on the HDF5 error stack (e.g. "unable to open
// file: name = ..., errno = 2, ..."), which is what explains a failure; the
// outer frames only repeat which API call failed.
std::string Hdf5Cause() {
  std::string cause;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* err, void* data) -> herr_t {
        if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
        return 0;
      },
      &cause);
  H5Eclear2(H5E_DEFAULT);
  // Some causes embed a ctime() line break; keep error messages on one line.
  std::replace(cause.begin(), cause.end(), '\n', ' ');
  return cause;
}

// Builds "FILE: OBJECT: WHAT (HDF5: cause)" with the given code. Every error
// names the file and the object so a user can look at it with h5ls/h5dump.
absl::Status Hdf5Error(absl::StatusCode code, absl::string_view file, absl::string_view object,
                       absl::string_view what) {
  std::string message = absl::StrCat(file, ": ", object, ": ", what);
  if (const std::string cause = Hdf5Cause(); !cause.empty()) {
    absl::StrAppend(&message, " (HDF5: ", cause, ")");
  }
  return absl::Status(code, message);
}

std::string Join(absl::string_view parent, absl::string_view name) {
  return parent == "/" ? absl::StrCat("/", name) : absl::StrCat(parent, "/", name);
}

// A fixed-length, null-padded UTF-8 string type of `size` bytes. Fixed length
// (rather than variable length) keeps every string in the object headers or
// the dataset itself, out of the global heap, which keeps the file layout a
// pure function of the data. HDF5 does not allow size 0, so "" takes one byte.
Handle StringType(std::size_t size) {
  Handle t = TypeHandle(H5Tcopy(H5T_C_S1));
  if (!t.valid() || H5Tset_size(t.get(), std::max<std::size_t>(size, 1)) < 0 ||
      H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0) {
    return Handle();
  }
  return t;
}

// A memory type for reading strings stored as `file_type`: the same size and
// character set (HDF5 will not convert between ASCII and UTF-8, and files
// written by other tools are often ASCII), null-padded.
Handle ReadStringType(hid_t file_type) {
  Handle t = TypeHandle(H5Tcopy(file_type));
  if (!t.valid() || H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0) return Handle();
  return t;
}

// Null padding is not part of the value.
std::string StripPadding(const char* data, std::size_t size) {
  std::string s(data, size);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------
// Tables (the compound datasets /decisions and /events), kept column-wise so
// one writer and one reader serve both.

enum class ColumnKind { kFloat64, kInt32, kString };

struct Column {
  Column(const char* column_name, ColumnKind column_kind) : name(column_name), kind(column_kind) {}

  const char* name;
  ColumnKind kind;
  std::vector<double> f64;
  std::vector<std::int32_t> i32;
  std::vector<std::string> str;
  std::size_t width = 0;            // bytes in a row (strings: fixed length)
  H5T_cset_t cset = H5T_CSET_UTF8;  // strings: as found in the file when reading
};

// The row type of a table: members in column order at packed offsets. The
// file type uses explicit little-endian types, the memory type native ones
// (identical on x86-64 and arm64, so no conversion happens there).
Handle RowType(const std::vector<Column>& columns, bool native) {
  std::size_t size = 0;
  for (const Column& c : columns) size += c.width;
  Handle row = TypeHandle(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(size, 1)));
  if (!row.valid()) return Handle();
  std::size_t offset = 0;
  for (const Column& c : columns) {
    Handle member;
    switch (c.kind) {
      case ColumnKind::kFloat64:
        member = TypeHandle(H5Tcopy(native ? H5T_NATIVE_DOUBLE : H5T_IEEE_F64LE));
        break;
      case ColumnKind::kInt32:
        member = TypeHandle(H5Tcopy(native ? H5T_NATIVE_INT32 : H5T_STD_I32LE));
        break;
      case ColumnKind::kString:
        member = StringType(c.width);
        if (member.valid() && H5Tset_cset(member.get(), c.cset) < 0) member = Handle();
        break;
    }
    if (!member.valid() || H5Tinsert(row.get(), c.name, offset, member.get()) < 0) {
      return Handle();
    }
    offset += c.width;
  }
  return row;
}

// ---------------------------------------------------------------------------
// Writing.

// Everything the writer needs to report errors and create objects the same
// way every time.
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  absl::Status Fail(absl::string_view object, absl::string_view what) const {
    return Hdf5Error(absl::StatusCode::kInternal, path_, object, what);
  }

  // Group creation properties: no access/modification times, so the bytes do
  // not depend on when the file was written.
  absl::StatusOr<Handle> GroupProps(absl::string_view object) const {
    Handle gcpl = PropsHandle(H5Pcreate(H5P_GROUP_CREATE));
    if (!gcpl.valid() || H5Pset_obj_track_times(gcpl.get(), 0) < 0) {
      return Fail(object, "cannot make group creation properties");
    }
    return gcpl;
  }

  // Dataset creation properties: no times; chunked, shuffled and deflated
  // when `chunk` is given and there is data (HDF5 rejects chunks of size 0).
  absl::StatusOr<Handle> DatasetProps(absl::string_view object,
                                      const std::vector<hsize_t>& chunk) const {
    Handle dcpl = PropsHandle(H5Pcreate(H5P_DATASET_CREATE));
    if (!dcpl.valid() || H5Pset_obj_track_times(dcpl.get(), 0) < 0) {
      return Fail(object, "cannot make dataset creation properties");
    }
    const bool has_data =
        !chunk.empty() && std::all_of(chunk.begin(), chunk.end(), [](hsize_t d) { return d > 0; });
    if (has_data) {
      if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0) {
        return Fail(object, "cannot set chunking");
      }
      // Compression is optional: a library built without zlib still writes
      // a valid (larger) file.
      if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        if (H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), kDeflateLevel) < 0) {
          return Fail(object, "cannot set compression");
        }
      }
    }
    return dcpl;
  }

  absl::StatusOr<Handle> CreateGroup(hid_t parent, absl::string_view parent_path,
                                     const char* name) const {
    const std::string object = Join(parent_path, name);
    absl::StatusOr<Handle> gcpl = GroupProps(object);
    if (!gcpl.ok()) return gcpl.status();
    Handle g = GroupHandle(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl->get(), H5P_DEFAULT));
    if (!g.valid()) return Fail(object, "cannot create group");
    return g;
  }

  absl::Status WriteAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                              hid_t file_type, hid_t mem_type, hid_t space, const void* buf) const {
    Handle attr =
        AttributeHandle(H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT));
    if (!attr.valid()) return Fail(obj_path, absl::StrCat("cannot create attribute '", name, "'"));
    if (H5Awrite(attr.get(), mem_type, buf) < 0) {
      return Fail(obj_path, absl::StrCat("cannot write attribute '", name, "'"));
    }
    return absl::OkStatus();
  }

  absl::Status WriteStringAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                    absl::string_view value) const {
    Handle type = StringType(value.size());
    Handle space = SpaceHandle(H5Screate(H5S_SCALAR));
    if (!type.valid() || !space.valid()) {
      return Fail(obj_path, absl::StrCat("cannot make the type of attribute '", name, "'"));
    }
    // One byte of padding when the value is empty (see StringType).
    std::string buf(value);
    buf.resize(std::max<std::size_t>(buf.size(), 1), '\0');
    return WriteAttribute(obj, obj_path, name, type.get(), type.get(), space.get(), buf.data());
  }

  // A 1-D array of fixed-length strings, as wide as the longest one.
  absl::Status WriteStringListAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                        const std::vector<std::string>& values) const {
    std::size_t width = 1;
    for (const std::string& v : values) width = std::max(width, v.size());
    Handle type = StringType(width);
    const hsize_t dims[1] = {values.size()};
    Handle space = SpaceHandle(H5Screate_simple(1, dims, nullptr));
    if (!type.valid() || !space.valid()) {
      return Fail(obj_path, absl::StrCat("cannot make the type of attribute '", name, "'"));
    }
    std::string buf(std::max<std::size_t>(values.size(), 1) * width, '\0');
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
    }
    return WriteAttribute(obj, obj_path, name, type.get(), type.get(), space.get(), buf.data());
  }

  template <typename T>
  absl::Status WriteNumberAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                    hid_t file_type, hid_t mem_type, T value) const {
    Handle space = SpaceHandle(H5Screate(H5S_SCALAR));
    if (!space.valid()) return Fail(obj_path, "cannot make a scalar dataspace");
    return WriteAttribute(obj, obj_path, name, file_type, mem_type, space.get(), &value);
  }

  // Creates dataset `name` of shape `dims` under `parent` and writes `data`.
  absl::Status WriteDataset(hid_t parent, absl::string_view parent_path, const char* name,
                            hid_t file_type, hid_t mem_type, const std::vector<hsize_t>& dims,
                            const std::vector<hsize_t>& chunk, const void* data,
                            Handle* dataset_out = nullptr) const {
    const std::string object = Join(parent_path, name);
    Handle space =
        SpaceHandle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    if (!space.valid()) return Fail(object, "cannot make the dataspace");
    absl::StatusOr<Handle> dcpl = DatasetProps(object, chunk);
    if (!dcpl.ok()) return dcpl.status();
    Handle ds = DatasetHandle(
        H5Dcreate2(parent, name, file_type, space.get(), H5P_DEFAULT, dcpl->get(), H5P_DEFAULT));
    if (!ds.valid()) return Fail(object, "cannot create dataset");
    hsize_t elements = 1;
    for (hsize_t d : dims) elements *= d;
    // An empty selection has nothing to write (and HDF5 rejects a null buffer).
    if (elements > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
      return Fail(object, "cannot write dataset");
    }
    if (dataset_out != nullptr) *dataset_out = std::move(ds);
    return absl::OkStatus();
  }

  // A 1-D tick series with its "units" and "description" attributes.
  absl::Status WriteSeries(hid_t group, const char* name, hid_t file_type, hid_t mem_type,
                           std::size_t n, const void* data, const char* units,
                           const char* description) const {
    const std::string object = Join("/ticks", name);
    Handle ds;
    MESHTWIN_RETURN_IF_ERROR(WriteDataset(group, "/ticks", name, file_type, mem_type, {n},
                                          {std::min<hsize_t>(n, kChunkRows)}, data, &ds));
    MESHTWIN_RETURN_IF_ERROR(WriteStringAttribute(ds.get(), object, "units", units));
    return WriteStringAttribute(ds.get(), object, "description", description);
  }

  // A compound dataset with one member per column and one row per record.
  absl::Status WriteTable(hid_t parent, const char* name, std::vector<Column>& columns,
                          std::size_t rows, const char* units, const char* description) const {
    const std::string object = Join("/", name);
    for (Column& c : columns) {
      switch (c.kind) {
        case ColumnKind::kFloat64:
          c.width = sizeof(double);
          break;
        case ColumnKind::kInt32:
          c.width = sizeof(std::int32_t);
          break;
        case ColumnKind::kString:
          c.width = 1;
          for (const std::string& s : c.str) c.width = std::max(c.width, s.size());
          break;
      }
    }
    Handle file_type = RowType(columns, /*native=*/false);
    Handle mem_type = RowType(columns, /*native=*/true);
    if (!file_type.valid() || !mem_type.valid()) return Fail(object, "cannot make the row type");
    const std::size_t row_size = H5Tget_size(mem_type.get());
    // Zero-filled, so string padding and any slack bytes are deterministic.
    std::vector<unsigned char> buf(std::max<std::size_t>(rows, 1) * row_size, 0);
    for (std::size_t r = 0; r < rows; ++r) {
      unsigned char* p = buf.data() + r * row_size;
      for (const Column& c : columns) {
        switch (c.kind) {
          case ColumnKind::kFloat64:
            std::memcpy(p, &c.f64[r], sizeof(double));
            break;
          case ColumnKind::kInt32:
            std::memcpy(p, &c.i32[r], sizeof(std::int32_t));
            break;
          case ColumnKind::kString:
            std::memcpy(p, c.str[r].data(), c.str[r].size());
            break;
        }
        p += c.width;
      }
    }
    // Tables are small (one row per decision or event): no chunking.
    Handle ds;
    MESHTWIN_RETURN_IF_ERROR(WriteDataset(parent, "/", name, file_type.get(), mem_type.get(),
                                          {rows}, {}, buf.data(), &ds));
    MESHTWIN_RETURN_IF_ERROR(WriteStringAttribute(ds.get(), object, "units", units));
    return WriteStringAttribute(ds.get(), object, "description", description);
  }

 private:
  std::string path_;
};

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
};

struct I32Series {
  const char* name;
  std::vector<std::int32_t> TickSeries::*member;
  const char* description;
};
constexpr I32Series kI32Series[] = {
    {"nodes_ready", &TickSeries::nodes_ready, "nodes serving at the end of the tick"},
    {"nodes_booting", &TickSeries::nodes_booting, "nodes provisioned but not serving yet"},
    {"nodes_draining", &TickSeries::nodes_draining, "nodes told to stop, finishing their queue"},
};

constexpr char kDecisionsUnits[] =
    "time=s count=nodes replicas_before=nodes replicas_after=nodes metric=as the policy states";
constexpr char kEventsUnits[] = "start=s end=s announced=s magnitude=as the source states";

std::vector<Column> DecisionColumns() {
  return {{"time", ColumnKind::kFloat64},         {"policy", ColumnKind::kString},
          {"node_type", ColumnKind::kString},     {"action", ColumnKind::kString},
          {"count", ColumnKind::kInt32},          {"replicas_before", ColumnKind::kInt32},
          {"replicas_after", ColumnKind::kInt32}, {"metric", ColumnKind::kFloat64},
          {"reason", ColumnKind::kString}};
}

std::vector<Column> EventColumns() {
  return {{"start", ColumnKind::kFloat64},     {"end", ColumnKind::kFloat64},
          {"announced", ColumnKind::kFloat64}, {"magnitude", ColumnKind::kFloat64},
          {"source", ColumnKind::kString},     {"category", ColumnKind::kString},
          {"text", ColumnKind::kString}};
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
                                            ", node_types has ", data.node_types.size(), ")"));
  };
  for (const F64Series& s : kF64Series) {
    MESHTWIN_RETURN_IF_ERROR(check(s.name, (t.*s.member).size(), n));
  }
  MESHTWIN_RETURN_IF_ERROR(check("slo_violated", t.slo_violated.size(), n));
  for (const I32Series& s : kI32Series) {
    MESHTWIN_RETURN_IF_ERROR(check(s.name, (t.*s.member).size(), n));
  }
  return check("nodes_by_type", t.nodes_by_type.size(), n * data.node_types.size());
}

absl::Status WriteContents(const Writer& w, hid_t file, const ResultsData& data) {
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

  // /ticks: one dataset per series.
  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle ticks, w.CreateGroup(file, "/", "ticks"));
    const TickSeries& t = data.ticks;
    const std::size_t n = t.size();
    for (const F64Series& s : kF64Series) {
      MESHTWIN_RETURN_IF_ERROR(w.WriteSeries(ticks.get(), s.name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                             n, (t.*s.member).data(), s.units, s.description));
    }
    MESHTWIN_RETURN_IF_ERROR(w.WriteSeries(ticks.get(), "slo_violated", H5T_STD_U8LE,
                                           H5T_NATIVE_UINT8, n, t.slo_violated.data(), "1",
                                           "1 if the tick missed the SLO, else 0"));
    for (const I32Series& s : kI32Series) {
      MESHTWIN_RETURN_IF_ERROR(w.WriteSeries(ticks.get(), s.name, H5T_STD_I32LE, H5T_NATIVE_INT32,
                                             n, (t.*s.member).data(), "nodes", s.description));
    }
    const hsize_t types = data.node_types.size();
    Handle by_type;
    MESHTWIN_RETURN_IF_ERROR(w.WriteDataset(
        ticks.get(), "/ticks", "nodes_by_type", H5T_STD_I32LE, H5T_NATIVE_INT32, {n, types},
        {std::min<hsize_t>(n, kChunkRows), types}, t.nodes_by_type.data(), &by_type));
    MESHTWIN_RETURN_IF_ERROR(
        w.WriteStringAttribute(by_type.get(), "/ticks/nodes_by_type", "units", "nodes"));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringAttribute(
        by_type.get(), "/ticks/nodes_by_type", "description",
        "active (not stopped) nodes per type at the end of the tick; columns follow node_types"));
    MESHTWIN_RETURN_IF_ERROR(w.WriteStringListAttribute(by_type.get(), "/ticks/nodes_by_type",
                                                        "node_types", data.node_types));
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
                                          "one row per scaling action a policy carried out"));
  }

  // /events
  {
    std::vector<Column> cols = EventColumns();
    for (const Event& e : data.events) {
      cols[0].f64.push_back(e.start);
      cols[1].f64.push_back(e.end);
      cols[2].f64.push_back(e.announced);
      cols[3].f64.push_back(e.magnitude);
      cols[4].str.push_back(e.source);
      cols[5].str.push_back(e.category);
      cols[6].str.push_back(e.text);
    }
    MESHTWIN_RETURN_IF_ERROR(w.WriteTable(file, "events", cols, data.events.size(), kEventsUnits,
                                          "global events of the run (end is NaN for an instant)"));
  }

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
  }
  return absl::OkStatus();
}

// Flushes the finished temporary file to disk before it is renamed into
// place, so a crash right after the rename cannot leave an empty or partial
// file under the final name.
absl::Status SyncFile(const std::string& path, const std::string& temp) {
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        absl::StrCat(path, ": cannot sync ", temp, ": ", std::strerror(err)));
  }
  ::close(fd);
  return absl::OkStatus();
}

// Writes the whole file under `temp`; the file is closed when this returns.
absl::Status WriteTemporary(const std::string& path, const std::string& temp,
                            const ResultsData& data) {
  const Writer w(path);
  Handle fcpl = PropsHandle(H5Pcreate(H5P_FILE_CREATE));
  Handle fapl = PropsHandle(H5Pcreate(H5P_FILE_ACCESS));
  // The file creation properties also describe the root group: no times
  // there either. Pinning the format to the 1.8 object versions keeps the
  // bytes the same under newer libraries (and the file readable by 1.8+);
  // SEMI close degree makes H5Fclose fail rather than leave the file open if
  // any object were still open, so "closed" really means "on disk".
  if (!fcpl.valid() || !fapl.valid() || H5Pset_obj_track_times(fcpl.get(), 0) < 0 ||
      H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
      H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_SEMI) < 0) {
    return w.Fail("/", "cannot make file properties");
  }
  Handle file = FileHandle(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()));
  if (!file.valid()) {
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      Hdf5Cause();  // drop the stack: the missing directory says it all
      return absl::NotFoundError(absl::StrCat(path, ": cannot create the file: directory ",
                                              dir.string(), " does not exist"));
    }
    return w.Fail("/", absl::StrCat("cannot create temporary file ", temp));
  }
  MESHTWIN_RETURN_IF_ERROR(WriteContents(w, file.get(), data));
  if (!file.Close()) return w.Fail("/", "cannot close (flush) the file");
  return SyncFile(path, temp);
}

// ---------------------------------------------------------------------------
// Reading.

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  // Anything wrong with the file's contents is bad input.
  absl::Status Bad(absl::string_view object, absl::string_view what) const {
    return Hdf5Error(absl::StatusCode::kInvalidArgument, path_, object, what);
  }

  absl::StatusOr<Handle> OpenGroup(hid_t parent, absl::string_view parent_path,
                                   const char* name) const {
    const std::string object = Join(parent_path, name);
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing group");
    Handle g = GroupHandle(H5Gopen2(parent, name, H5P_DEFAULT));
    if (!g.valid()) return Bad(object, "cannot open group");
    return g;
  }

  absl::StatusOr<Handle> OpenDataset(hid_t parent, absl::string_view object,
                                     const char* name) const {
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing dataset");
    Handle ds = DatasetHandle(H5Dopen2(parent, name, H5P_DEFAULT));
    if (!ds.valid()) return Bad(object, "cannot open dataset");
    return ds;
  }

  // Opens attribute `name` of `obj` and checks its type class.
  absl::StatusOr<Handle> OpenAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                       H5T_class_t want, const char* want_text) const {
    if (H5Aexists(obj, name) <= 0) {
      return Bad(obj_path, absl::StrCat("missing attribute '", name, "'"));
    }
    Handle attr = AttributeHandle(H5Aopen(obj, name, H5P_DEFAULT));
    if (!attr.valid()) return Bad(obj_path, absl::StrCat("cannot open attribute '", name, "'"));
    Handle type = TypeHandle(H5Aget_type(attr.get()));
    if (!type.valid() || H5Tget_class(type.get()) != want ||
        (want == H5T_STRING && H5Tis_variable_str(type.get()) != 0)) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' is not ", want_text));
    }
    return attr;
  }

  // Number of elements of an attribute's dataspace, or -1.
  static hssize_t AttributePoints(hid_t attr) {
    Handle space = SpaceHandle(H5Aget_space(attr));
    return space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  }

  absl::Status ReadString(hid_t obj, absl::string_view obj_path, const char* name,
                          std::string* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(
        Handle attr, OpenAttribute(obj, obj_path, name, H5T_STRING, "a fixed-length string"));
    if (AttributePoints(attr.get()) != 1) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' is not a single string"));
    }
    Handle file_type = TypeHandle(H5Aget_type(attr.get()));
    const std::size_t size = file_type.valid() ? H5Tget_size(file_type.get()) : 0;
    Handle mem_type = file_type.valid() ? ReadStringType(file_type.get()) : Handle();
    if (size == 0 || !mem_type.valid()) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' has an unusable string type"));
    }
    std::string buf(size, '\0');
    if (H5Aread(attr.get(), mem_type.get(), buf.data()) < 0) {
      return Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
    }
    *out = StripPadding(buf.data(), buf.size());
    return absl::OkStatus();
  }

  absl::Status ReadStringList(hid_t obj, absl::string_view obj_path, const char* name,
                              std::vector<std::string>* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(Handle attr, OpenAttribute(obj, obj_path, name, H5T_STRING,
                                                         "an array of fixed-length strings"));
    Handle space = SpaceHandle(H5Aget_space(attr.get()));
    if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' is not a 1-D array"));
    }
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    Handle file_type = TypeHandle(H5Aget_type(attr.get()));
    const std::size_t width = file_type.valid() ? H5Tget_size(file_type.get()) : 0;
    Handle mem_type = file_type.valid() ? ReadStringType(file_type.get()) : Handle();
    if (n < 0 || width == 0 || !mem_type.valid()) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' has an unusable string type"));
    }
    out->clear();
    if (n == 0) return absl::OkStatus();
    std::string buf(static_cast<std::size_t>(n) * width, '\0');
    if (H5Aread(attr.get(), mem_type.get(), buf.data()) < 0) {
      return Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
    }
    for (hssize_t i = 0; i < n; ++i) {
      out->push_back(StripPadding(buf.data() + static_cast<std::size_t>(i) * width, width));
    }
    return absl::OkStatus();
  }

  // Reads a scalar numeric attribute, converting to `mem_type`.
  template <typename T>
  absl::Status ReadNumber(hid_t obj, absl::string_view obj_path, const char* name, H5T_class_t cls,
                          hid_t mem_type, T* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(
        Handle attr, OpenAttribute(obj, obj_path, name, cls,
                                   cls == H5T_FLOAT ? "a floating-point number" : "an integer"));
    if (AttributePoints(attr.get()) != 1) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' is not a single number"));
    }
    if (H5Aread(attr.get(), mem_type, out) < 0) {
      return Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
    }
    return absl::OkStatus();
  }

  // Reads dataset `name` of `group` (rank and type class checked) into `out`;
  // `dims` receives its shape.
  template <typename T>
  absl::Status ReadArray(hid_t group, absl::string_view group_path, const char* name, int rank,
                         H5T_class_t cls, hid_t mem_type, std::vector<T>* out,
                         std::vector<hsize_t>* dims) const {
    const std::string object = Join(group_path, name);
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds, OpenDataset(group, object, name));
    Handle type = TypeHandle(H5Dget_type(ds.get()));
    if (!type.valid() || H5Tget_class(type.get()) != cls) {
      return Bad(object, cls == H5T_FLOAT ? "is not a floating-point dataset"
                                          : "is not an integer dataset");
    }
    Handle space = SpaceHandle(H5Dget_space(ds.get()));
    if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != rank) {
      return Bad(object, absl::StrCat("is not a ", rank, "-D dataset"));
    }
    dims->assign(static_cast<std::size_t>(rank), 0);
    H5Sget_simple_extent_dims(space.get(), dims->data(), nullptr);
    hsize_t elements = 1;
    for (hsize_t d : *dims) elements *= d;
    out->assign(elements, T{});
    if (elements > 0 &&
        H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
      return Bad(object, "cannot read dataset");
    }
    return absl::OkStatus();
  }

  // Reads a compound dataset into `columns` (matched by member name, so the
  // member order in the file does not matter). Returns the row count.
  absl::StatusOr<std::size_t> ReadTable(hid_t file, const char* name,
                                        std::vector<Column>& columns) const {
    const std::string object = Join("/", name);
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds, OpenDataset(file, object, name));
    Handle file_type = TypeHandle(H5Dget_type(ds.get()));
    if (!file_type.valid() || H5Tget_class(file_type.get()) != H5T_COMPOUND) {
      return Bad(object, "is not a compound (table) dataset");
    }
    for (Column& c : columns) {
      const int index = H5Tget_member_index(file_type.get(), c.name);
      if (index < 0) return Bad(object, absl::StrCat("missing field '", c.name, "'"));
      Handle member = TypeHandle(H5Tget_member_type(file_type.get(), static_cast<unsigned>(index)));
      const H5T_class_t cls =
          member.valid() ? H5Tget_member_class(file_type.get(), static_cast<unsigned>(index))
                         : H5T_NO_CLASS;
      switch (c.kind) {
        case ColumnKind::kFloat64:
          if (cls != H5T_FLOAT)
            return Bad(object, absl::StrCat("field '", c.name, "' is not float"));
          c.width = sizeof(double);
          break;
        case ColumnKind::kInt32:
          if (cls != H5T_INTEGER) {
            return Bad(object, absl::StrCat("field '", c.name, "' is not an integer"));
          }
          c.width = sizeof(std::int32_t);
          break;
        case ColumnKind::kString:
          if (cls != H5T_STRING || H5Tis_variable_str(member.get()) != 0) {
            return Bad(object, absl::StrCat("field '", c.name, "' is not a fixed-length string"));
          }
          c.width = H5Tget_size(member.get());
          c.cset = H5Tget_cset(member.get());
          break;
      }
    }
    Handle space = SpaceHandle(H5Dget_space(ds.get()));
    if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1) {
      return Bad(object, "is not a 1-D dataset");
    }
    hsize_t rows = 0;
    H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
    Handle mem_type = RowType(columns, /*native=*/true);
    if (!mem_type.valid()) return Bad(object, "cannot make the row type");
    const std::size_t row_size = H5Tget_size(mem_type.get());
    std::vector<unsigned char> buf(rows * row_size);
    if (rows > 0 &&
        H5Dread(ds.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      return Bad(object, "cannot read dataset");
    }
    for (std::size_t r = 0; r < rows; ++r) {
      const unsigned char* p = buf.data() + r * row_size;
      for (Column& c : columns) {
        switch (c.kind) {
          case ColumnKind::kFloat64: {
            double v;
            std::memcpy(&v, p, sizeof v);
            c.f64.push_back(v);
            break;
          }
          case ColumnKind::kInt32: {
            std::int32_t v;
            std::memcpy(&v, p, sizeof v);
            c.i32.push_back(v);
            break;
          }
          case ColumnKind::kString:
            c.str.push_back(StripPadding(reinterpret_cast<const char*>(p), c.width));
            break;
        }
        p += c.width;
      }
    }
    return static_cast<std::size_t>(rows);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

absl::Status ReadTicks(const Reader& r, hid_t file, ResultsData& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle g, r.OpenGroup(file, "/", "ticks"));
  TickSeries& t = out.ticks;
  std::vector<hsize_t> dims;
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadArray(g.get(), "/ticks", "time", 1, H5T_FLOAT, H5T_NATIVE_DOUBLE, &t.time, &dims));
  const hsize_t n = dims[0];
  auto check_length = [&](const char* name) -> absl::Status {
    if (dims[0] == n) return absl::OkStatus();
    return r.Bad(Join("/ticks", name),
                 absl::StrCat("has ", dims[0], " values but /ticks/time has ", n));
  };
  for (const F64Series& s : kF64Series) {
    if (s.member == &TickSeries::time) continue;
    MESHTWIN_RETURN_IF_ERROR(r.ReadArray(g.get(), "/ticks", s.name, 1, H5T_FLOAT, H5T_NATIVE_DOUBLE,
                                         &(t.*s.member), &dims));
    MESHTWIN_RETURN_IF_ERROR(check_length(s.name));
  }
  MESHTWIN_RETURN_IF_ERROR(r.ReadArray(g.get(), "/ticks", "slo_violated", 1, H5T_INTEGER,
                                       H5T_NATIVE_UINT8, &t.slo_violated, &dims));
  MESHTWIN_RETURN_IF_ERROR(check_length("slo_violated"));
  for (const I32Series& s : kI32Series) {
    MESHTWIN_RETURN_IF_ERROR(r.ReadArray(g.get(), "/ticks", s.name, 1, H5T_INTEGER,
                                         H5T_NATIVE_INT32, &(t.*s.member), &dims));
    MESHTWIN_RETURN_IF_ERROR(check_length(s.name));
  }
  MESHTWIN_RETURN_IF_ERROR(r.ReadArray(g.get(), "/ticks", "nodes_by_type", 2, H5T_INTEGER,
                                       H5T_NATIVE_INT32, &t.nodes_by_type, &dims));
  if (dims[0] != n || dims[1] != out.node_types.size()) {
    return r.Bad("/ticks/nodes_by_type",
                 absl::StrCat("has shape [", dims[0], " x ", dims[1], "], expected [", n, " x ",
                              out.node_types.size(), "] (ticks x node_types)"));
  }
  return absl::OkStatus();
}

absl::Status ReadContents(const Reader& r, hid_t file, ResultsData& out) {
  // Format and version first: for another schema, that is the whole story.
  std::string format;
  MESHTWIN_RETURN_IF_ERROR(r.ReadString(file, "/", "format", &format));
  if (format != kFormatName) {
    return r.Bad("/", absl::StrCat("format is '", format, "', expected '", kFormatName, "'"));
  }
  std::int32_t version = 0;
  MESHTWIN_RETURN_IF_ERROR(
      r.ReadNumber(file, "/", "format_version", H5T_INTEGER, H5T_NATIVE_INT32, &version));
  if (version != kFormatVersion) {
    return r.Bad("/", absl::StrCat("format_version ", version,
                                   " is not supported (this reader "
                                   "knows version ",
                                   kFormatVersion, ")"));
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

  MESHTWIN_RETURN_IF_ERROR(ReadTicks(r, file, out));

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
  {
    std::vector<Column> cols = EventColumns();
    MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, r.ReadTable(file, "events", cols));
    out.events.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      Event& e = out.events[i];
      e.start = cols[0].f64[i];
      e.end = cols[1].f64[i];
      e.announced = cols[2].f64[i];
      e.magnitude = cols[3].f64[i];
      e.source = std::move(cols[4].str[i]);
      e.category = std::move(cols[5].str[i]);
      e.text = std::move(cols[6].str[i]);
    }
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
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteResultsFile(const std::string& path, const ResultsData& data) {
  MESHTWIN_RETURN_IF_ERROR(CheckShapes(path, data));
  const QuietHdf5Errors quiet;
  // The pid keeps two processes writing the same path from sharing a
  // temporary file; the rename below is what makes the result appear whole.
  const std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  absl::Status status = WriteTemporary(path, temp, data);
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = absl::InternalError(
        absl::StrCat(path, ": cannot rename ", temp, " into place: ", std::strerror(errno)));
  }
  if (!status.ok()) {
    std::error_code ignored;  // the temporary may never have been created
    std::filesystem::remove(temp, ignored);
  }
  return status;
}

absl::StatusOr<ResultsData> ReadResultsFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  const QuietHdf5Errors quiet;
  const Reader r(path);
  Handle fapl = PropsHandle(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0) {
    return Hdf5Error(absl::StatusCode::kInternal, path, "/", "cannot make file properties");
  }
  Handle file = FileHandle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file.valid()) {
    // Keep the library's reason before the next call clears it; a plain
    // "not an HDF5 file" beats its signature-search message, though.
    const std::string cause = Hdf5Cause();
    if (H5Fis_hdf5(path.c_str()) == 0) {
      Hdf5Cause();
      return absl::InvalidArgumentError(absl::StrCat(path, ": /: not an HDF5 file"));
    }
    Hdf5Cause();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": /: cannot open the HDF5 file (damaged or truncated?): ", cause));
  }
  ResultsData out;
  MESHTWIN_RETURN_IF_ERROR(ReadContents(r, file.get(), out));
  return out;
}

}  // namespace meshtwin
