// The HDF5 trace file. The schema is described in datasets/FORMAT.md ("Trace
// files"); keep the two in step, and bump kFormatVersion when a reader of the
// old version could no longer read what is written.
//
// The HDF5 plumbing (RAII handles, quiet error stack, fixed-length strings,
// column-wise tables) follows datasets/results_file.cpp on purpose: both files
// promise the same determinism and the same error style. It is repeated here
// rather than shared because results_file.cpp is owned elsewhere; a common
// datasets/hdf5_util.h would be the next step.

#include "datasets/trace_file.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace meshtwin {
namespace {

constexpr char kFormatName[] = "meshtwin-trace";
constexpr std::int32_t kFormatVersion = 1;

// Series are chunked by 8192 samples (64 KiB of float64) and deflated after
// byte shuffling, as in the results file: a month of 60 s samples shrinks
// several-fold and the extra write time is a few milliseconds.
constexpr hsize_t kChunkRows = 8192;
constexpr unsigned kDeflateLevel = 1;

constexpr char kHdf5Signature[] = "\x89HDF\r\n\x1a\n";

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
Handle ObjectHandle(hid_t id) { return Handle(id, H5Oclose); }

// HDF5 prints its error stack to stderr on every failure unless told not to.
// Callers get absl errors instead, so printing is off for the duration of a
// call and the previous setting is restored afterwards.
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

// The innermost message on the HDF5 error stack, which is the one that
// explains a failure; the outer frames only name the API call. Clears the stack.
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
  std::replace(cause.begin(), cause.end(), '\n', ' ');  // messages stay on one line
  return cause;
}

// "FILE: OBJECT: WHAT (HDF5: cause)": the object lets a user look with h5dump.
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

// Fixed-length, null-padded UTF-8 strings keep every string out of the global
// heap, so the file bytes are a function of the data. Size 0 is not allowed.
Handle StringType(std::size_t size) {
  Handle t = TypeHandle(H5Tcopy(H5T_C_S1));
  if (!t.valid() || H5Tset_size(t.get(), std::max<std::size_t>(size, 1)) < 0 ||
      H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0) {
    return Handle();
  }
  return t;
}

// A memory type for strings stored as `file_type`: same size and character
// set (HDF5 will not convert ASCII <-> UTF-8), null-padded.
Handle ReadStringType(hid_t file_type) {
  Handle t = TypeHandle(H5Tcopy(file_type));
  if (!t.valid() || H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0) return Handle();
  return t;
}

std::string StripPadding(const char* data, std::size_t size) {
  std::string s(data, size);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

// "1-D float64", "2-D int32", "scalar string": what a reader found, for
// messages of the form "expected 1-D float64, got ...".
std::string DescribeDataset(hid_t dataset) {
  Handle space = SpaceHandle(H5Dget_space(dataset));
  Handle type = TypeHandle(H5Dget_type(dataset));
  if (!space.valid() || !type.valid()) return "an unreadable dataset";
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::string shape = rank == 0 ? "scalar" : absl::StrCat(rank, "-D");
  const std::size_t bits = H5Tget_size(type.get()) * 8;
  switch (H5Tget_class(type.get())) {
    case H5T_FLOAT:
      return absl::StrCat(shape, " float", bits);
    case H5T_INTEGER:
      return absl::StrCat(shape, H5Tget_sign(type.get()) == H5T_SGN_NONE ? " uint" : " int", bits);
    case H5T_STRING:
      return absl::StrCat(shape, " string");
    case H5T_COMPOUND:
      return absl::StrCat(shape, " compound");
    default:
      return absl::StrCat(shape, " of another type");
  }
}

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
// The /events table, kept column-wise (one writer and one reader for it).

enum class ColumnKind { kFloat64, kString };

struct Column {
  Column(const char* column_name, ColumnKind column_kind) : name(column_name), kind(column_kind) {}

  const char* name;
  ColumnKind kind;
  std::vector<double> f64;
  std::vector<std::string> str;
  std::size_t width = 0;            // bytes in a row (strings: fixed length)
  H5T_cset_t cset = H5T_CSET_UTF8;  // strings: as found in the file when reading
};

std::vector<Column> EventColumns() {
  return {{"start", ColumnKind::kFloat64},     {"end", ColumnKind::kFloat64},
          {"announced", ColumnKind::kFloat64}, {"magnitude", ColumnKind::kFloat64},
          {"source", ColumnKind::kString},     {"category", ColumnKind::kString},
          {"text", ColumnKind::kString}};
}

constexpr char kEventsUnits[] = "start=s end=s announced=s magnitude=as the source states";

// The row type: members in column order at packed offsets; the file type uses
// little-endian types, the memory type native ones.
Handle RowType(const std::vector<Column>& columns, bool native) {
  std::size_t size = 0;
  for (const Column& c : columns) size += c.width;
  Handle row = TypeHandle(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(size, 1)));
  if (!row.valid()) return Handle();
  std::size_t offset = 0;
  for (const Column& c : columns) {
    Handle member;
    if (c.kind == ColumnKind::kFloat64) {
      member = TypeHandle(H5Tcopy(native ? H5T_NATIVE_DOUBLE : H5T_IEEE_F64LE));
    } else {
      member = StringType(c.width);
      if (member.valid() && H5Tset_cset(member.get(), c.cset) < 0) member = Handle();
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

class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  absl::Status Fail(absl::string_view object, absl::string_view what) const {
    return Hdf5Error(absl::StatusCode::kInternal, path_, object, what);
  }

  // No access/modification times, so the bytes do not depend on the clock.
  absl::StatusOr<Handle> CreateGroup(hid_t parent, absl::string_view parent_path,
                                     const char* name) const {
    const std::string object = Join(parent_path, name);
    Handle gcpl = PropsHandle(H5Pcreate(H5P_GROUP_CREATE));
    if (!gcpl.valid() || H5Pset_obj_track_times(gcpl.get(), 0) < 0) {
      return Fail(object, "cannot make group creation properties");
    }
    Handle g = GroupHandle(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT));
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

  absl::Status WriteString(hid_t obj, absl::string_view obj_path, const char* name,
                           absl::string_view value) const {
    Handle type = StringType(value.size());
    Handle space = SpaceHandle(H5Screate(H5S_SCALAR));
    if (!type.valid() || !space.valid()) {
      return Fail(obj_path, absl::StrCat("cannot make the type of attribute '", name, "'"));
    }
    std::string buf(value);
    buf.resize(std::max<std::size_t>(buf.size(), 1), '\0');  // "" takes one byte
    return WriteAttribute(obj, obj_path, name, type.get(), type.get(), space.get(), buf.data());
  }

  template <typename T>
  absl::Status WriteNumber(hid_t obj, absl::string_view obj_path, const char* name, hid_t file_type,
                           hid_t mem_type, T value) const {
    Handle space = SpaceHandle(H5Screate(H5S_SCALAR));
    if (!space.valid()) return Fail(obj_path, "cannot make a scalar dataspace");
    return WriteAttribute(obj, obj_path, name, file_type, mem_type, space.get(), &value);
  }

  // A 1-D float64 series under `parent`, chunked and deflated when non-empty
  // (HDF5 rejects chunks of size 0).
  absl::StatusOr<Handle> WriteSeries(hid_t parent, absl::string_view object, const char* name,
                                     const std::vector<double>& values) const {
    const hsize_t n = values.size();
    Handle space = SpaceHandle(H5Screate_simple(1, &n, nullptr));
    Handle dcpl = PropsHandle(H5Pcreate(H5P_DATASET_CREATE));
    if (!space.valid() || !dcpl.valid() || H5Pset_obj_track_times(dcpl.get(), 0) < 0) {
      return Fail(object, "cannot make dataset creation properties");
    }
    if (n > 0) {
      const hsize_t chunk = std::min(n, kChunkRows);
      if (H5Pset_chunk(dcpl.get(), 1, &chunk) < 0) return Fail(object, "cannot set chunking");
      // Compression is optional: without zlib the file is valid, only larger.
      if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
          (H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), kDeflateLevel) < 0)) {
        return Fail(object, "cannot set compression");
      }
    }
    Handle ds = DatasetHandle(H5Dcreate2(parent, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                         dcpl.get(), H5P_DEFAULT));
    if (!ds.valid()) return Fail(object, "cannot create dataset");
    if (n > 0 &&
        H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
      return Fail(object, "cannot write dataset");
    }
    return ds;
  }

  // A compound dataset with one member per column and one row per record.
  absl::Status WriteTable(hid_t parent, const char* name, std::vector<Column>& columns,
                          std::size_t rows, const char* units, const char* description) const {
    const std::string object = Join("/", name);
    for (Column& c : columns) {
      if (c.kind == ColumnKind::kFloat64) {
        c.width = sizeof(double);
      } else {
        c.width = 1;
        for (const std::string& s : c.str) c.width = std::max(c.width, s.size());
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
        if (c.kind == ColumnKind::kFloat64) {
          std::memcpy(p, &c.f64[r], sizeof(double));
        } else {
          std::memcpy(p, c.str[r].data(), c.str[r].size());
        }
        p += c.width;
      }
    }
    const hsize_t dims[1] = {rows};
    Handle space = SpaceHandle(H5Screate_simple(1, dims, nullptr));
    Handle dcpl = PropsHandle(H5Pcreate(H5P_DATASET_CREATE));
    if (!space.valid() || !dcpl.valid() || H5Pset_obj_track_times(dcpl.get(), 0) < 0) {
      return Fail(object, "cannot make dataset creation properties");
    }
    Handle ds = DatasetHandle(H5Dcreate2(parent, name, file_type.get(), space.get(), H5P_DEFAULT,
                                         dcpl.get(), H5P_DEFAULT));
    if (!ds.valid()) return Fail(object, "cannot create dataset");
    if (rows > 0 &&
        H5Dwrite(ds.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      return Fail(object, "cannot write dataset");
    }
    MESHTWIN_RETURN_IF_ERROR(WriteString(ds.get(), object, "units", units));
    return WriteString(ds.get(), object, "description", description);
  }

 private:
  std::string path_;
};

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

absl::Status WriteContents(const Writer& w, hid_t file, const Trace& trace) {
  MESHTWIN_RETURN_IF_ERROR(w.WriteString(file, "/", "format", kFormatName));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumber(file, "/", "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, kFormatVersion));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumber(file, "/", "start", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.start));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumber(file, "/", "step", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.step));
  MESHTWIN_RETURN_IF_ERROR(
      w.WriteNumber(file, "/", "epoch", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, trace.epoch));
  MESHTWIN_RETURN_IF_ERROR(w.WriteString(file, "/", "unit", trace.unit));
  MESHTWIN_RETURN_IF_ERROR(w.WriteString(file, "/", "provenance", trace.provenance));

  {
    MESHTWIN_ASSIGN_OR_RETURN(Handle demand,
                              w.WriteSeries(file, "/demand", "demand", trace.demand));
    MESHTWIN_RETURN_IF_ERROR(w.WriteString(demand.get(), "/demand", "units", trace.unit));
    MESHTWIN_RETURN_IF_ERROR(w.WriteString(demand.get(), "/demand", "description",
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
      const std::string object = Join("/channels", name);
      MESHTWIN_ASSIGN_OR_RETURN(Handle ds,
                                w.WriteSeries(group.get(), object, name.c_str(), c.values));
      MESHTWIN_RETURN_IF_ERROR(w.WriteString(ds.get(), object, "name", c.name));
      MESHTWIN_RETURN_IF_ERROR(w.WriteString(ds.get(), object, "kind", c.kind));
      MESHTWIN_RETURN_IF_ERROR(w.WriteString(ds.get(), object, "unit", c.unit));
      MESHTWIN_RETURN_IF_ERROR(w.WriteNumber(ds.get(), object, "order", H5T_STD_I32LE,
                                             H5T_NATIVE_INT32, static_cast<std::int32_t>(i)));
    }
  }

  std::vector<Column> cols = EventColumns();
  for (const Event& e : trace.events) {
    cols[0].f64.push_back(e.start);
    cols[1].f64.push_back(e.end);
    cols[2].f64.push_back(e.announced);
    cols[3].f64.push_back(e.magnitude);
    cols[4].str.push_back(e.source);
    cols[5].str.push_back(e.category);
    cols[6].str.push_back(e.text);
  }
  return w.WriteTable(file, "events", cols, trace.events.size(), kEventsUnits,
                      "global events attached to the trace, in trace time (end is NaN for an "
                      "instant)");
}

// Flushes the temporary to disk before the rename, so a crash right after it
// cannot leave a partial file under the final name.
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

absl::Status WriteTemporary(const std::string& path, const std::string& temp, const Trace& trace) {
  const Writer w(path);
  Handle fcpl = PropsHandle(H5Pcreate(H5P_FILE_CREATE));
  Handle fapl = PropsHandle(H5Pcreate(H5P_FILE_ACCESS));
  // No times on the root group either; object versions pinned to 1.8 so a
  // newer library writes the same bytes; SEMI close degree makes H5Fclose fail
  // rather than leave the file open if anything were still open.
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
      Hdf5Cause();  // the missing directory says it all
      return absl::NotFoundError(absl::StrCat(path, ": cannot create the file: directory ",
                                              dir.string(), " does not exist"));
    }
    return w.Fail("/", absl::StrCat("cannot create temporary file ", temp));
  }
  MESHTWIN_RETURN_IF_ERROR(WriteContents(w, file.get(), trace));
  if (!file.Close()) return w.Fail("/", "cannot close (flush) the file");
  return SyncFile(path, temp);
}

// ---------------------------------------------------------------------------
// Reading.

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  // Anything wrong with the contents is bad input.
  absl::Status Bad(absl::string_view object, absl::string_view what) const {
    return Hdf5Error(absl::StatusCode::kInvalidArgument, path_, object, what);
  }

  absl::StatusOr<Handle> OpenGroup(hid_t parent, absl::string_view object, const char* name) const {
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing group");
    Handle o = ObjectHandle(H5Oopen(parent, name, H5P_DEFAULT));
    if (!o.valid() || H5Iget_type(o.get()) != H5I_GROUP) return Bad(object, "is not a group");
    Handle g = GroupHandle(H5Gopen2(parent, name, H5P_DEFAULT));
    if (!g.valid()) return Bad(object, "cannot open group");
    return g;
  }

  absl::StatusOr<Handle> OpenDataset(hid_t parent, absl::string_view object,
                                     const char* name) const {
    if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing dataset");
    Handle o = ObjectHandle(H5Oopen(parent, name, H5P_DEFAULT));
    if (!o.valid() || H5Iget_type(o.get()) != H5I_DATASET) return Bad(object, "is not a dataset");
    Handle ds = DatasetHandle(H5Dopen2(parent, name, H5P_DEFAULT));
    if (!ds.valid()) return Bad(object, "cannot open dataset");
    return ds;
  }

  absl::StatusOr<Handle> OpenAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                       H5T_class_t want, const char* want_text) const {
    if (H5Aexists(obj, name) <= 0) {
      return Bad(obj_path, absl::StrCat("missing attribute '", name, "'"));
    }
    Handle attr = AttributeHandle(H5Aopen(obj, name, H5P_DEFAULT));
    if (!attr.valid()) return Bad(obj_path, absl::StrCat("cannot open attribute '", name, "'"));
    Handle type = TypeHandle(H5Aget_type(attr.get()));
    Handle space = SpaceHandle(H5Aget_space(attr.get()));
    if (!type.valid() || H5Tget_class(type.get()) != want ||
        (want == H5T_STRING && H5Tis_variable_str(type.get()) != 0) || !space.valid() ||
        H5Sget_simple_extent_npoints(space.get()) != 1) {
      return Bad(obj_path, absl::StrCat("attribute '", name, "' is not ", want_text));
    }
    return attr;
  }

  absl::Status ReadString(hid_t obj, absl::string_view obj_path, const char* name,
                          std::string* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(
        Handle attr, OpenAttribute(obj, obj_path, name, H5T_STRING, "a fixed-length string"));
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

  template <typename T>
  absl::Status ReadNumber(hid_t obj, absl::string_view obj_path, const char* name, H5T_class_t cls,
                          hid_t mem_type, T* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(
        Handle attr,
        OpenAttribute(obj, obj_path, name, cls,
                      cls == H5T_FLOAT ? "a single floating-point number" : "a single integer"));
    if (H5Aread(attr.get(), mem_type, out) < 0) {
      return Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
    }
    return absl::OkStatus();
  }

  // Reads a 1-D float64 dataset (any byte order) into `out`.
  absl::Status ReadSeries(hid_t parent, absl::string_view object, const char* name,
                          std::vector<double>* out) const {
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds, OpenDataset(parent, object, name));
    Handle type = TypeHandle(H5Dget_type(ds.get()));
    Handle space = SpaceHandle(H5Dget_space(ds.get()));
    if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_FLOAT ||
        H5Tget_size(type.get()) != sizeof(double) || H5Sget_simple_extent_ndims(space.get()) != 1) {
      return Bad(object, absl::StrCat("expected 1-D float64, got ", DescribeDataset(ds.get())));
    }
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    out->assign(n, 0.0);
    if (n > 0 &&
        H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->data()) < 0) {
      return Bad(object, "cannot read dataset (damaged or truncated file?)");
    }
    return absl::OkStatus();
  }

  // Reads a compound dataset into `columns`, matched by member name. Returns
  // the row count.
  absl::StatusOr<std::size_t> ReadTable(hid_t file, const char* name,
                                        std::vector<Column>& columns) const {
    const std::string object = Join("/", name);
    MESHTWIN_ASSIGN_OR_RETURN(Handle ds, OpenDataset(file, object, name));
    Handle file_type = TypeHandle(H5Dget_type(ds.get()));
    if (!file_type.valid() || H5Tget_class(file_type.get()) != H5T_COMPOUND) {
      return Bad(object,
                 absl::StrCat("expected a 1-D compound table, got ", DescribeDataset(ds.get())));
    }
    for (Column& c : columns) {
      const int index = H5Tget_member_index(file_type.get(), c.name);
      if (index < 0) return Bad(object, absl::StrCat("missing field '", c.name, "'"));
      const auto member_index = static_cast<unsigned>(index);
      Handle member = TypeHandle(H5Tget_member_type(file_type.get(), member_index));
      const H5T_class_t cls =
          member.valid() ? H5Tget_member_class(file_type.get(), member_index) : H5T_NO_CLASS;
      if (c.kind == ColumnKind::kFloat64) {
        if (cls != H5T_FLOAT) {
          return Bad(object, absl::StrCat("field '", c.name, "' is not floating-point"));
        }
        c.width = sizeof(double);
      } else {
        if (cls != H5T_STRING || H5Tis_variable_str(member.get()) != 0) {
          return Bad(object, absl::StrCat("field '", c.name, "' is not a fixed-length string"));
        }
        c.width = H5Tget_size(member.get());
        c.cset = H5Tget_cset(member.get());
      }
    }
    Handle space = SpaceHandle(H5Dget_space(ds.get()));
    if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1) {
      return Bad(object,
                 absl::StrCat("expected a 1-D compound table, got ", DescribeDataset(ds.get())));
    }
    hsize_t rows = 0;
    H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
    Handle mem_type = RowType(columns, /*native=*/true);
    if (!mem_type.valid()) return Bad(object, "cannot make the row type");
    const std::size_t row_size = H5Tget_size(mem_type.get());
    std::vector<unsigned char> buf(rows * row_size);
    if (rows > 0 &&
        H5Dread(ds.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
      return Bad(object, "cannot read dataset (damaged or truncated file?)");
    }
    for (std::size_t r = 0; r < rows; ++r) {
      const unsigned char* p = buf.data() + r * row_size;
      for (Column& c : columns) {
        if (c.kind == ColumnKind::kFloat64) {
          double v;
          std::memcpy(&v, p, sizeof v);
          c.f64.push_back(v);
        } else {
          c.str.push_back(StripPadding(reinterpret_cast<const char*>(p), c.width));
        }
        p += c.width;
      }
    }
    return static_cast<std::size_t>(rows);
  }

 private:
  std::string path_;
};

// Names of the links in a group, in HDF5's name order (the reader sorts the
// channels by their `order` attribute afterwards).
absl::StatusOr<std::vector<std::string>> LinkNames(const Reader& r, hid_t group,
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

absl::Status ReadChannels(const Reader& r, hid_t file, std::size_t n, Trace& out) {
  MESHTWIN_ASSIGN_OR_RETURN(Handle group, r.OpenGroup(file, "/channels", "channels"));
  MESHTWIN_ASSIGN_OR_RETURN(const std::vector<std::string> names,
                            LinkNames(r, group.get(), "/channels"));
  std::vector<TraceChannel> channels(names.size());
  std::vector<std::string> placed(names.size());  // which dataset holds each order
  for (const std::string& name : names) {
    const std::string object = Join("/channels", name);
    TraceChannel c;
    MESHTWIN_RETURN_IF_ERROR(r.ReadSeries(group.get(), object, name.c_str(), &c.values));
    if (c.values.size() != n) {
      return r.Bad(object, absl::StrCat("has ", c.values.size(), " values but /demand has ", n));
    }
    Handle ds = DatasetHandle(H5Dopen2(group.get(), name.c_str(), H5P_DEFAULT));
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
                                        Join("/channels", placed[slot])));
    }
    placed[slot] = name;
    channels[slot] = std::move(c);
  }
  out.channels = std::move(channels);
  return absl::OkStatus();
}

absl::Status ReadContents(const Reader& r, hid_t file, Trace& out) {
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

  MESHTWIN_RETURN_IF_ERROR(r.ReadSeries(file, "/demand", "demand", &out.demand));
  {
    Handle demand = DatasetHandle(H5Dopen2(file, "demand", H5P_DEFAULT));
    std::string units;
    if (!demand.valid()) return r.Bad("/demand", "cannot open dataset");
    MESHTWIN_RETURN_IF_ERROR(r.ReadString(demand.get(), "/demand", "units", &units));
  }
  MESHTWIN_RETURN_IF_ERROR(ReadChannels(r, file, out.demand.size(), out));

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
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTraceFile(const std::string& path, const Trace& trace) {
  MESHTWIN_RETURN_IF_ERROR(CheckTrace(path, trace));
  const QuietHdf5Errors quiet;
  // The pid keeps two processes writing one path from sharing a temporary;
  // the rename is what makes the file appear whole.
  const std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  absl::Status status = WriteTemporary(path, temp, trace);
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

absl::StatusOr<Trace> ReadTraceFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  const QuietHdf5Errors quiet;
  const Reader r(path);
  // STRONG close degree: whatever is still open when the file handle goes
  // (after an error half-way) is closed with it.
  Handle fapl = PropsHandle(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0) {
    return Hdf5Error(absl::StatusCode::kInternal, path, "/", "cannot make file properties");
  }
  if (!LooksLikeHdf5(path) && H5Fis_hdf5(path.c_str()) <= 0) {
    Hdf5Cause();
    return absl::InvalidArgumentError(absl::StrCat(path, ": /: not an HDF5 file"));
  }
  Handle file = FileHandle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file.valid()) {
    const std::string cause = Hdf5Cause();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": /: cannot open the HDF5 file (damaged or truncated?): ", cause));
  }
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
