#include "datasets/hdf5_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace meshtwin::hdf5 {

std::string Cause() {
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

absl::Status Error(absl::StatusCode code, absl::string_view file, absl::string_view object,
                   absl::string_view what) {
  std::string message = absl::StrCat(file, ": ", object, ": ", what);
  if (const std::string cause = Cause(); !cause.empty()) {
    absl::StrAppend(&message, " (HDF5: ", cause, ")");
  }
  return absl::Status(code, message);
}

std::string Join(absl::string_view parent, absl::string_view name) {
  return parent == "/" ? absl::StrCat("/", name) : absl::StrCat(parent, "/", name);
}

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

Handle StringType(std::size_t size) {
  Handle t = TypeHandle(H5Tcopy(H5T_C_S1));
  if (!t.valid() || H5Tset_size(t.get(), std::max<std::size_t>(size, 1)) < 0 ||
      H5Tset_strpad(t.get(), H5T_STR_NULLPAD) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0) {
    return Handle();
  }
  return t;
}

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

namespace {

constexpr char kEventsUnits[] = "start=s end=s announced=s magnitude=as the source states";

std::vector<Column> EventColumns() {
  return {{"start", ColumnKind::kFloat64},     {"end", ColumnKind::kFloat64},
          {"announced", ColumnKind::kFloat64}, {"magnitude", ColumnKind::kFloat64},
          {"source", ColumnKind::kString},     {"category", ColumnKind::kString},
          {"text", ColumnKind::kString}};
}

}  // namespace

// ---------------------------------------------------------------------------
// Writing.

absl::StatusOr<Handle> Writer::CreateGroup(hid_t parent, absl::string_view parent_path,
                                           const char* name) const {
  const std::string object = Join(parent_path, name);
  // No access/modification times, so the bytes do not depend on when the
  // file was written.
  Handle gcpl = PropsHandle(H5Pcreate(H5P_GROUP_CREATE));
  if (!gcpl.valid() || H5Pset_obj_track_times(gcpl.get(), 0) < 0) {
    return Fail(object, "cannot make group creation properties");
  }
  Handle g = GroupHandle(H5Gcreate2(parent, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT));
  if (!g.valid()) return Fail(object, "cannot create group");
  return g;
}

absl::Status Writer::WriteAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                    hid_t file_type, hid_t mem_type, hid_t space,
                                    const void* buf) const {
  Handle attr = AttributeHandle(H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) return Fail(obj_path, absl::StrCat("cannot create attribute '", name, "'"));
  if (H5Awrite(attr.get(), mem_type, buf) < 0) {
    return Fail(obj_path, absl::StrCat("cannot write attribute '", name, "'"));
  }
  return absl::OkStatus();
}

absl::Status Writer::WriteStringAttribute(hid_t obj, absl::string_view obj_path, const char* name,
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

absl::Status Writer::WriteStringListAttribute(hid_t obj, absl::string_view obj_path,
                                              const char* name,
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

// Dataset creation properties: no times; chunked, shuffled and deflated when
// `chunk` is given and there is data.
absl::StatusOr<Handle> Writer::DatasetProps(absl::string_view object,
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

absl::StatusOr<Handle> Writer::WriteDataset(hid_t parent, absl::string_view parent_path,
                                            const char* name, hid_t file_type, hid_t mem_type,
                                            const std::vector<hsize_t>& dims,
                                            const std::vector<hsize_t>& chunk,
                                            const void* data) const {
  const std::string object = Join(parent_path, name);
  Handle space = SpaceHandle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (!space.valid()) return Fail(object, "cannot make the dataspace");
  MESHTWIN_ASSIGN_OR_RETURN(Handle dcpl, DatasetProps(object, chunk));
  Handle ds = DatasetHandle(
      H5Dcreate2(parent, name, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  if (!ds.valid()) return Fail(object, "cannot create dataset");
  hsize_t elements = 1;
  for (hsize_t d : dims) elements *= d;
  // An empty selection has nothing to write (and HDF5 rejects a null buffer).
  if (elements > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Fail(object, "cannot write dataset");
  }
  return ds;
}

absl::Status Writer::WriteTable(hid_t file, const char* name, std::vector<Column>& columns,
                                std::size_t rows, const char* units,
                                const char* description) const {
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
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, WriteDataset(file, "/", name, file_type.get(),
                                                    mem_type.get(), {rows}, {}, buf.data()));
  MESHTWIN_RETURN_IF_ERROR(WriteStringAttribute(ds.get(), object, "units", units));
  return WriteStringAttribute(ds.get(), object, "description", description);
}

absl::Status Writer::WriteEvents(hid_t file, const std::vector<Event>& events,
                                 const char* description) const {
  std::vector<Column> cols = EventColumns();
  for (const Event& e : events) {
    cols[0].f64.push_back(e.start);
    cols[1].f64.push_back(e.end);
    cols[2].f64.push_back(e.announced);
    cols[3].f64.push_back(e.magnitude);
    cols[4].str.push_back(e.source);
    cols[5].str.push_back(e.category);
    cols[6].str.push_back(e.text);
  }
  return WriteTable(file, "events", cols, events.size(), kEventsUnits, description);
}

namespace {

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
absl::Status WriteTemporary(
    const std::string& path, const std::string& temp,
    const std::function<absl::Status(const Writer&, hid_t)>& write_contents) {
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
      Cause();  // drop the stack: the missing directory says it all
      return absl::NotFoundError(absl::StrCat(path, ": cannot create the file: directory ",
                                              dir.string(), " does not exist"));
    }
    return w.Fail("/", absl::StrCat("cannot create temporary file ", temp));
  }
  MESHTWIN_RETURN_IF_ERROR(write_contents(w, file.get()));
  if (!file.Close()) return w.Fail("/", "cannot close (flush) the file");
  return SyncFile(path, temp);
}

}  // namespace

absl::Status WriteFileAtomically(
    const std::string& path,
    const std::function<absl::Status(const Writer&, hid_t)>& write_contents) {
  const QuietErrors quiet;
  // The pid keeps two processes writing the same path from sharing a
  // temporary file; the rename below is what makes the result appear whole.
  const std::string temp = absl::StrCat(path, ".tmp.", ::getpid());
  absl::Status status = WriteTemporary(path, temp, write_contents);
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

// ---------------------------------------------------------------------------
// Reading.

absl::StatusOr<Handle> Reader::OpenGroup(hid_t parent, absl::string_view parent_path,
                                         const char* name) const {
  const std::string object = Join(parent_path, name);
  if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing group");
  if (wording_.check_object_kind) {
    Handle o = ObjectHandle(H5Oopen(parent, name, H5P_DEFAULT));
    if (!o.valid() || H5Iget_type(o.get()) != H5I_GROUP) return Bad(object, "is not a group");
  }
  Handle g = GroupHandle(H5Gopen2(parent, name, H5P_DEFAULT));
  if (!g.valid()) return Bad(object, "cannot open group");
  return g;
}

absl::StatusOr<Handle> Reader::OpenDataset(hid_t parent, absl::string_view object,
                                           const char* name) const {
  if (H5Lexists(parent, name, H5P_DEFAULT) <= 0) return Bad(object, "missing dataset");
  if (wording_.check_object_kind) {
    Handle o = ObjectHandle(H5Oopen(parent, name, H5P_DEFAULT));
    if (!o.valid() || H5Iget_type(o.get()) != H5I_DATASET) return Bad(object, "is not a dataset");
  }
  Handle ds = DatasetHandle(H5Dopen2(parent, name, H5P_DEFAULT));
  if (!ds.valid()) return Bad(object, "cannot open dataset");
  return ds;
}

absl::StatusOr<Handle> Reader::OpenAttribute(hid_t obj, absl::string_view obj_path,
                                             const char* name, H5T_class_t want,
                                             const char* want_text) const {
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

hssize_t Reader::AttributePoints(hid_t attr) {
  Handle space = SpaceHandle(H5Aget_space(attr));
  return space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
}

absl::Status Reader::ReadString(hid_t obj, absl::string_view obj_path, const char* name,
                                std::string* out) const {
  MESHTWIN_ASSIGN_OR_RETURN(
      Handle attr, OpenAttribute(obj, obj_path, name, H5T_STRING, "a fixed-length string"));
  if (AttributePoints(attr.get()) != 1) {
    return Bad(obj_path, absl::StrCat("attribute '", name, "' is not ", wording_.several_strings));
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

absl::Status Reader::ReadStringList(hid_t obj, absl::string_view obj_path, const char* name,
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

std::string Reader::NotATable(hid_t dataset, const char* plain) const {
  if (!wording_.describe_tables) return plain;
  return absl::StrCat("expected a 1-D compound table, got ", DescribeDataset(dataset));
}

absl::StatusOr<std::size_t> Reader::ReadTable(hid_t file, const char* name,
                                              std::vector<Column>& columns) const {
  const std::string object = Join("/", name);
  MESHTWIN_ASSIGN_OR_RETURN(Handle ds, OpenDataset(file, object, name));
  Handle file_type = TypeHandle(H5Dget_type(ds.get()));
  if (!file_type.valid() || H5Tget_class(file_type.get()) != H5T_COMPOUND) {
    return Bad(object, NotATable(ds.get(), "is not a compound (table) dataset"));
  }
  for (Column& c : columns) {
    const int index = H5Tget_member_index(file_type.get(), c.name);
    if (index < 0) return Bad(object, absl::StrCat("missing field '", c.name, "'"));
    const auto member_index = static_cast<unsigned>(index);
    Handle member = TypeHandle(H5Tget_member_type(file_type.get(), member_index));
    const H5T_class_t cls =
        member.valid() ? H5Tget_member_class(file_type.get(), member_index) : H5T_NO_CLASS;
    switch (c.kind) {
      case ColumnKind::kFloat64:
        if (cls != H5T_FLOAT) {
          return Bad(object, absl::StrCat("field '", c.name, "' is not ", wording_.float_field));
        }
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
    return Bad(object, NotATable(ds.get(), "is not a 1-D dataset"));
  }
  hsize_t rows = 0;
  H5Sget_simple_extent_dims(space.get(), &rows, nullptr);
  Handle mem_type = RowType(columns, /*native=*/true);
  if (!mem_type.valid()) return Bad(object, "cannot make the row type");
  const std::size_t row_size = H5Tget_size(mem_type.get());
  std::vector<unsigned char> buf(rows * row_size);
  if (rows > 0 &&
      H5Dread(ds.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0) {
    return Bad(object, wording_.cannot_read);
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

absl::StatusOr<std::vector<Event>> Reader::ReadEvents(hid_t file) const {
  std::vector<Column> cols = EventColumns();
  MESHTWIN_ASSIGN_OR_RETURN(const std::size_t rows, ReadTable(file, "events", cols));
  std::vector<Event> events(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    Event& e = events[i];
    e.start = cols[0].f64[i];
    e.end = cols[1].f64[i];
    e.announced = cols[2].f64[i];
    e.magnitude = cols[3].f64[i];
    e.source = std::move(cols[4].str[i]);
    e.category = std::move(cols[5].str[i]);
    e.text = std::move(cols[6].str[i]);
  }
  return events;
}

absl::Status CheckExists(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  return absl::OkStatus();
}

absl::Status NotHdf5Error(const std::string& path) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": /: not an HDF5 file"));
}

absl::StatusOr<Handle> OpenReadOnly(const std::string& path) {
  // STRONG close degree: whatever is still open when the file handle goes
  // (after an error half-way) is closed with it.
  Handle fapl = PropsHandle(H5Pcreate(H5P_FILE_ACCESS));
  if (!fapl.valid() || H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0) {
    return Error(absl::StatusCode::kInternal, path, "/", "cannot make file properties");
  }
  Handle file = FileHandle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file.valid()) {
    // Keep the library's reason before the next call clears it; a plain
    // "not an HDF5 file" beats its signature-search message, though.
    const std::string cause = Cause();
    if (H5Fis_hdf5(path.c_str()) == 0) {
      Cause();
      return NotHdf5Error(path);
    }
    Cause();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": /: cannot open the HDF5 file (damaged or truncated?): ", cause));
  }
  return file;
}

}  // namespace meshtwin::hdf5
