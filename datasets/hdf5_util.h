// Internal to datasets/: the HDF5 plumbing of the trace file (trace_file.cpp)
// and the results file (results_file.cpp). Not part of the public API; other
// code reads and writes those files through trace_file.h and results_file.h.
//
// Both files promise the same things: equal data gives identical bytes (no
// object times, fixed-length strings, format pinned to the 1.8 object
// versions), a file appears under its name only when complete, and every
// error names the file and the object ("FILE: OBJECT: WHAT (HDF5: cause)").
// Keeping one copy of the code keeps those promises the same for both.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin::hdf5 {

// Series are stored in chunks of this many rows (64 KiB of float64), deflated
// at level 1 after byte shuffling. On a week of 15 s ticks that cut a results
// file from 4.0 MB to 0.6 MB for about 9 ms more write time (figures in
// FORMAT.md), and a month of 60 s trace samples shrinks several-fold: worth it
// for files that are kept and copied around.
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

inline Handle FileHandle(hid_t id) { return Handle(id, H5Fclose); }
inline Handle GroupHandle(hid_t id) { return Handle(id, H5Gclose); }
inline Handle DatasetHandle(hid_t id) { return Handle(id, H5Dclose); }
inline Handle AttributeHandle(hid_t id) { return Handle(id, H5Aclose); }
inline Handle SpaceHandle(hid_t id) { return Handle(id, H5Sclose); }
inline Handle TypeHandle(hid_t id) { return Handle(id, H5Tclose); }
inline Handle PropsHandle(hid_t id) { return Handle(id, H5Pclose); }
inline Handle ObjectHandle(hid_t id) { return Handle(id, H5Oclose); }

// HDF5 prints its error stack to stderr on every failure unless told not to.
// Our callers get absl errors instead, so the printing is switched off for the
// duration of a call and the previous setting restored afterwards (other code
// in the process may rely on it).
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// ---------------------------------------------------------------------------
// Errors and names.

// The most specific message on the HDF5 error stack (e.g. "unable to open
// file: name = ..., errno = 2, ..."), which is what explains a failure; the
// outer frames only repeat which API call failed. Clears the stack.
std::string Cause();

// Builds "FILE: OBJECT: WHAT (HDF5: cause)" with the given code. Every error
// names the file and the object so a user can look at it with h5ls/h5dump.
absl::Status Error(absl::StatusCode code, absl::string_view file, absl::string_view object,
                   absl::string_view what);

// The path of link `name` in the group at `parent` ("/" + "a" is "/a").
std::string Join(absl::string_view parent, absl::string_view name);

// "1-D float64", "2-D int32", "scalar string": what a reader found, for
// messages of the form "expected 1-D float64, got ...".
std::string DescribeDataset(hid_t dataset);

// ---------------------------------------------------------------------------
// Strings.

// A fixed-length, null-padded UTF-8 string type of `size` bytes. Fixed length
// (rather than variable length) keeps every string in the object headers or
// the dataset itself, out of the global heap, which keeps the file layout a
// pure function of the data. HDF5 does not allow size 0, so "" takes one byte.
Handle StringType(std::size_t size);

// A memory type for reading strings stored as `file_type`: the same size and
// character set (HDF5 will not convert between ASCII and UTF-8, and files
// written by other tools are often ASCII), null-padded.
Handle ReadStringType(hid_t file_type);

// Null padding is not part of the value.
std::string StripPadding(const char* data, std::size_t size);

// ---------------------------------------------------------------------------
// Tables (compound datasets such as /events), kept column-wise so one writer
// and one reader serve them all.

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
Handle RowType(const std::vector<Column>& columns, bool native);

// ---------------------------------------------------------------------------
// Writing.

// Everything a writer needs to report errors and create objects the same way
// every time.
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  // A failure to write is ours (or the disk's), not the user's.
  absl::Status Fail(absl::string_view object, absl::string_view what) const {
    return Error(absl::StatusCode::kInternal, path_, object, what);
  }

  // Group `name` under `parent`, without access/modification times.
  absl::StatusOr<Handle> CreateGroup(hid_t parent, absl::string_view parent_path,
                                     const char* name) const;

  absl::Status WriteAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                              hid_t file_type, hid_t mem_type, hid_t space, const void* buf) const;

  absl::Status WriteStringAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                    absl::string_view value) const;

  // A 1-D array of fixed-length strings, as wide as the longest one.
  absl::Status WriteStringListAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                        const std::vector<std::string>& values) const;

  template <typename T>
  absl::Status WriteNumberAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                    hid_t file_type, hid_t mem_type, T value) const {
    Handle space = SpaceHandle(H5Screate(H5S_SCALAR));
    if (!space.valid()) return Fail(obj_path, "cannot make a scalar dataspace");
    return WriteAttribute(obj, obj_path, name, file_type, mem_type, space.get(), &value);
  }

  // Creates dataset `name` of shape `dims` under `parent` and writes `data`.
  // Chunked (by `chunk`), shuffled and deflated when `chunk` is given and
  // there is data; HDF5 rejects chunks of size 0.
  absl::StatusOr<Handle> WriteDataset(hid_t parent, absl::string_view parent_path, const char* name,
                                      hid_t file_type, hid_t mem_type,
                                      const std::vector<hsize_t>& dims,
                                      const std::vector<hsize_t>& chunk, const void* data) const;

  // A compound dataset `name` in the root group with one member per column
  // and `rows` rows, with its "units" and "description" attributes. Sets the
  // columns' widths.
  absl::Status WriteTable(hid_t file, const char* name, std::vector<Column>& columns,
                          std::size_t rows, const char* units, const char* description) const;

  // The /events table, the same in every file that has one.
  absl::Status WriteEvents(hid_t file, const std::vector<Event>& events,
                           const char* description) const;

 private:
  absl::StatusOr<Handle> DatasetProps(absl::string_view object,
                                      const std::vector<hsize_t>& chunk) const;

  std::string path_;
};

// Writes `path` atomically: `write_contents` fills a temporary file next to
// it, which is flushed to disk and then renamed over `path`. Nothing is left
// behind on failure. HDF5's error printing is off for the duration.
absl::Status WriteFileAtomically(
    const std::string& path,
    const std::function<absl::Status(const Writer&, hid_t)>& write_contents);

// ---------------------------------------------------------------------------
// Reading.

// How a Reader words what it finds wrong with a file. The results file's
// reader came first and says less; the trace file's reader checks what kind of
// object a link is and says what it found instead. Users (and the tests) match
// on those messages, so each file keeps its wording while the checks are
// shared. The defaults are the results file's.
struct Wording {
  // Check that a link is a group (dataset) before opening it: "is not a
  // group" rather than "cannot open group (HDF5: not a group)".
  bool check_object_kind = false;
  // "attribute 'x' is not <this>" for a numeric attribute of the other class.
  const char* float_attribute = "a floating-point number";
  const char* integer_attribute = "an integer";
  // "attribute 'x' is not <this>" for an attribute of the right type that
  // holds more than one value.
  const char* several_floats = "a single number";
  const char* several_integers = "a single number";
  const char* several_strings = "a single string";
  // A table that is not a 1-D compound dataset: "expected a 1-D compound
  // table, got 2-D float64" rather than "is not a compound (table) dataset".
  bool describe_tables = false;
  // "field 'x' is not <this>" for a table column that should be float64.
  const char* float_field = "float";
  // A dataset whose data cannot be read.
  const char* cannot_read = "cannot read dataset";
};

// Everything a reader needs to check a file's contents and report what is
// wrong with them.
class Reader {
 public:
  Reader(std::string path, const Wording& wording) : path_(std::move(path)), wording_(wording) {}

  // Anything wrong with the file's contents is bad input.
  absl::Status Bad(absl::string_view object, absl::string_view what) const {
    return Error(absl::StatusCode::kInvalidArgument, path_, object, what);
  }

  const Wording& wording() const { return wording_; }

  absl::StatusOr<Handle> OpenGroup(hid_t parent, absl::string_view parent_path,
                                   const char* name) const;

  absl::StatusOr<Handle> OpenDataset(hid_t parent, absl::string_view object,
                                     const char* name) const;

  // Opens attribute `name` of `obj` and checks its type class (strings:
  // fixed-length); "attribute 'NAME' is not WANT_TEXT" if it is another.
  absl::StatusOr<Handle> OpenAttribute(hid_t obj, absl::string_view obj_path, const char* name,
                                       H5T_class_t want, const char* want_text) const;

  // Number of elements of an attribute's dataspace, or -1.
  static hssize_t AttributePoints(hid_t attr);

  absl::Status ReadString(hid_t obj, absl::string_view obj_path, const char* name,
                          std::string* out) const;

  absl::Status ReadStringList(hid_t obj, absl::string_view obj_path, const char* name,
                              std::vector<std::string>* out) const;

  // Reads a scalar numeric attribute of class `cls`, converting to `mem_type`.
  template <typename T>
  absl::Status ReadNumber(hid_t obj, absl::string_view obj_path, const char* name, H5T_class_t cls,
                          hid_t mem_type, T* out) const {
    const bool is_float = cls == H5T_FLOAT;
    MESHTWIN_ASSIGN_OR_RETURN(Handle attr, OpenAttribute(obj, obj_path, name, cls,
                                                         is_float ? wording_.float_attribute
                                                                  : wording_.integer_attribute));
    if (AttributePoints(attr.get()) != 1) {
      return Bad(obj_path,
                 absl::StrCat("attribute '", name, "' is not ",
                              is_float ? wording_.several_floats : wording_.several_integers));
    }
    if (H5Aread(attr.get(), mem_type, out) < 0) {
      return Bad(obj_path, absl::StrCat("cannot read attribute '", name, "'"));
    }
    return absl::OkStatus();
  }

  // Reads the compound dataset `name` of the root group into `columns`
  // (matched by member name, so the member order in the file does not
  // matter). Returns the row count.
  absl::StatusOr<std::size_t> ReadTable(hid_t file, const char* name,
                                        std::vector<Column>& columns) const;

  // The /events table written by Writer::WriteEvents.
  absl::StatusOr<std::vector<Event>> ReadEvents(hid_t file) const;

 private:
  // What to say about a dataset that is not a 1-D compound table.
  std::string NotATable(hid_t dataset, const char* plain) const;

  std::string path_;
  Wording wording_;
};

// NotFound "PATH: no such file" when there is nothing at `path`.
absl::Status CheckExists(const std::string& path);

// InvalidArgument "PATH: /: not an HDF5 file".
absl::Status NotHdf5Error(const std::string& path);

// Opens `path` read-only. A file that cannot be opened is InvalidArgument:
// "not an HDF5 file", or "cannot open the HDF5 file (damaged or
// truncated?): <HDF5's reason>". Call with QuietErrors in scope.
absl::StatusOr<Handle> OpenReadOnly(const std::string& path);

}  // namespace meshtwin::hdf5
