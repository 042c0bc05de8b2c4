#include "twin/dht/capability.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/str_cat.h"

namespace meshtwin::dht {
namespace {

constexpr std::string_view kMagic = "MTC";
// Powers of two beyond this are not enumerated (no node has 2^62 cores).
constexpr std::int64_t kLargestClassPower = std::int64_t{1} << 62;

// --- Writing -------------------------------------------------------------

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Signed values are zigzag-coded, so a small negative number stays short and
// a bad local value (cores = -1) survives the round trip for Validate to name.
void PutSigned(std::string& out, std::int64_t v) {
  PutVarint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

void PutFixed64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutDouble(std::string& out, double v) { PutFixed64(out, std::bit_cast<std::uint64_t>(v)); }

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

// --- Reading -------------------------------------------------------------

// The name of the field being read, formatted only when an error needs it:
// "gpus[1].count".
struct Field {
  const char* name;
  std::int64_t index = -1;
  const char* member = nullptr;
  std::string Text() const {
    std::string text = name;
    if (index >= 0) absl::StrAppend(&text, "[", index, "]");
    if (member != nullptr) absl::StrAppend(&text, ".", member);
    return text;
  }
};

absl::Status FieldError(const Field& field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("capability record: field '", field.Text(), "': ", what));
}

// Bounds-checked reads over untrusted bytes. Every read either succeeds or
// names the field it was reading.
class Reader {
 public:
  // Reads `data` from byte `start` on (errors count bytes from the start of data).
  Reader(std::string_view data, std::size_t start) : data_(data), pos_(start) {}

  std::size_t remaining() const { return data_.size() - pos_; }

  absl::Status Varint(const Field& field, std::uint64_t* v) {
    std::uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Truncated(field);
      const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      // The tenth byte may carry only the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) return FieldError(field, "varint overflows 64 bits");
      result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return absl::OkStatus();
      }
    }
    return FieldError(field, "varint longer than 10 bytes");
  }

  absl::Status Signed(const Field& field, std::int64_t* v) {
    std::uint64_t u = 0;
    MESHTWIN_RETURN_IF_ERROR(Varint(field, &u));
    *v = static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
    return absl::OkStatus();
  }

  absl::Status Int(const Field& field, int* v) {
    std::int64_t wide = 0;
    MESHTWIN_RETURN_IF_ERROR(Signed(field, &wide));
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      return FieldError(field, absl::StrCat(wide, " does not fit in 32 bits"));
    }
    *v = static_cast<int>(wide);
    return absl::OkStatus();
  }

  absl::Status Fixed64(const Field& field, std::uint64_t* v) {
    if (remaining() < 8) return Truncated(field);
    std::uint64_t result = 0;
    for (int i = 0; i < 8; ++i) {
      result |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    *v = result;
    return absl::OkStatus();
  }

  absl::Status Double(const Field& field, double* v) {
    std::uint64_t bits = 0;
    MESHTWIN_RETURN_IF_ERROR(Fixed64(field, &bits));
    *v = std::bit_cast<double>(bits);
    return absl::OkStatus();
  }

  absl::Status String(const Field& field, std::string* s) {
    std::uint64_t size = 0;
    MESHTWIN_RETURN_IF_ERROR(Varint(field, &size));
    if (size > remaining()) {
      return FieldError(field, absl::StrCat("length ", size, " at byte ", pos_, " but only ",
                                            remaining(), " bytes left"));
    }
    s->assign(data_.substr(pos_, size));
    pos_ += size;
    return absl::OkStatus();
  }

  // A list length: every element takes at least one byte, so a count larger
  // than what is left is corrupt (and would otherwise allocate without bound).
  absl::Status Count(const Field& field, std::size_t* n) {
    std::uint64_t count = 0;
    MESHTWIN_RETURN_IF_ERROR(Varint(field, &count));
    if (count > remaining()) {
      return FieldError(field,
                        absl::StrCat("count ", count, " but only ", remaining(), " bytes left"));
    }
    *n = static_cast<std::size_t>(count);
    return absl::OkStatus();
  }

 private:
  absl::Status Truncated(const Field& field) const {
    return FieldError(field, absl::StrCat("truncated at byte ", pos_, " of ", data_.size()));
  }

  std::string_view data_;
  std::size_t pos_ = 0;
};

absl::Status ReadStrings(Reader& in, const char* name, std::vector<std::string>* out) {
  std::size_t n = 0;
  MESHTWIN_RETURN_IF_ERROR(in.Count({name}, &n));
  out->resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    MESHTWIN_RETURN_IF_ERROR(in.String({name, static_cast<std::int64_t>(i)}, &(*out)[i]));
  }
  return absl::OkStatus();
}

absl::Status Parse(std::string_view data, CapabilityRecord* r) {
  if (data.size() > kMaxCapabilityRecordBytes) {
    return FieldError({"size"}, absl::StrCat("record is ", data.size(), " bytes, more than the ",
                                             kMaxCapabilityRecordBytes, " allowed"));
  }
  if (data.substr(0, kMagic.size()) != kMagic) {
    return FieldError({"magic"}, "not a capability record (does not start with \"MTC\")");
  }
  Reader in(data, kMagic.size());
  std::uint64_t version = 0;
  MESHTWIN_RETURN_IF_ERROR(in.Varint({"version"}, &version));
  if (version != kCapabilityRecordVersion) {
    return FieldError({"version"}, absl::StrCat(version, " is not supported (this build reads ",
                                                kCapabilityRecordVersion, ")"));
  }
  MESHTWIN_RETURN_IF_ERROR(in.Fixed64({"node"}, &r->node));
  MESHTWIN_RETURN_IF_ERROR(in.Int({"address"}, &r->address));
  MESHTWIN_RETURN_IF_ERROR(in.String({"name"}, &r->name));
  MESHTWIN_RETURN_IF_ERROR(in.Int({"cores"}, &r->cores));
  MESHTWIN_RETURN_IF_ERROR(in.Double({"memory_gb"}, &r->memory_gb));

  std::size_t n = 0;
  MESHTWIN_RETURN_IF_ERROR(in.Count({"gpus"}, &n));
  r->gpus.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto index = static_cast<std::int64_t>(i);
    MESHTWIN_RETURN_IF_ERROR(in.String({"gpus", index, "model"}, &r->gpus[i].first));
    MESHTWIN_RETURN_IF_ERROR(in.Int({"gpus", index, "count"}, &r->gpus[i].second));
  }
  MESHTWIN_RETURN_IF_ERROR(ReadStrings(in, "software", &r->software));
  MESHTWIN_RETURN_IF_ERROR(ReadStrings(in, "roles", &r->roles));
  MESHTWIN_RETURN_IF_ERROR(in.String({"role"}, &r->role));
  MESHTWIN_RETURN_IF_ERROR(in.Double({"load"}, &r->load));
  MESHTWIN_RETURN_IF_ERROR(in.Double({"spare_cores"}, &r->spare_cores));
  MESHTWIN_RETURN_IF_ERROR(in.Double({"spare_memory_gb"}, &r->spare_memory_gb));

  MESHTWIN_RETURN_IF_ERROR(in.Count({"spare_gpus"}, &n));
  for (std::size_t i = 0; i < n; ++i) {
    const auto index = static_cast<std::int64_t>(i);
    std::string model;
    int count = 0;
    MESHTWIN_RETURN_IF_ERROR(in.String({"spare_gpus", index, "model"}, &model));
    MESHTWIN_RETURN_IF_ERROR(in.Int({"spare_gpus", index, "count"}, &count));
    if (!r->spare_gpus.emplace(std::move(model), count).second) {
      return FieldError({"spare_gpus", index, "model"}, "duplicate model");
    }
  }
  MESHTWIN_RETURN_IF_ERROR(in.Double({"published"}, &r->published));

  MESHTWIN_RETURN_IF_ERROR(in.Count({"offers"}, &n));
  r->offers.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto index = static_cast<std::int64_t>(i);
    OfferAd& o = r->offers[i];
    MESHTWIN_RETURN_IF_ERROR(in.Varint({"offers", index, "id"}, &o.id));
    MESHTWIN_RETURN_IF_ERROR(in.String({"offers", index, "resource"}, &o.resource));
    MESHTWIN_RETURN_IF_ERROR(in.Double({"offers", index, "amount"}, &o.amount));
    MESHTWIN_RETURN_IF_ERROR(in.Double({"offers", index, "expires"}, &o.expires));
  }
  if (in.remaining() != 0) {
    return FieldError({"offers"},
                      absl::StrCat(in.remaining(), " unexpected bytes after the last field"));
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(const Field& field, double v) {
  if (!std::isfinite(v) || v < 0) {
    return FieldError(field, absl::StrCat(v, " is not a finite number >= 0"));
  }
  return absl::OkStatus();
}

absl::Status CheckNonEmpty(const Field& field, std::string_view s) {
  if (s.empty()) return FieldError(field, "empty");
  return absl::OkStatus();
}

// --- Capability classes --------------------------------------------------

enum class ClassKind { kRole, kGpu, kCpu, kMem, kSw };

struct ParsedClass {
  ClassKind kind;
  std::string_view name;      // role, GPU model or tag
  std::int64_t at_least = 0;  // cpu: cores, mem: GB
};

// "16+" (cpu) or "64G+" (mem) -> the number; nullopt if malformed or < 1.
std::optional<std::int64_t> ParseAtLeast(std::string_view text, std::string_view suffix) {
  if (text.size() <= suffix.size() || text.substr(text.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  text.remove_suffix(suffix.size());
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) return std::nullopt;
  return n;
}

std::optional<ParsedClass> ParseClass(std::string_view c) {
  const std::size_t colon = c.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view prefix = c.substr(0, colon);
  const std::string_view rest = c.substr(colon + 1);
  if (prefix == "cpu" || prefix == "mem") {
    const bool cpu = prefix == "cpu";
    const auto n = ParseAtLeast(rest, cpu ? "+" : "G+");
    if (!n) return std::nullopt;
    return ParsedClass{cpu ? ClassKind::kCpu : ClassKind::kMem, {}, *n};
  }
  if (rest.empty()) return std::nullopt;
  if (prefix == "role") return ParsedClass{ClassKind::kRole, rest};
  if (prefix == "gpu") return ParsedClass{ClassKind::kGpu, rest};
  if (prefix == "sw") return ParsedClass{ClassKind::kSw, rest};
  return std::nullopt;
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

int GpuCount(const CapabilityRecord& r, std::string_view model) {
  int count = 0;
  for (const auto& [m, n] : r.gpus) {
    if (m == model) count += std::max(n, 0);
  }
  return count;
}

// The largest power of two <= amount, at least 1.
std::int64_t FloorPowerOfTwo(double amount) {
  std::int64_t n = 1;
  while (n < kLargestClassPower && static_cast<double>(n) * 2 <= amount) n *= 2;
  return n;
}

}  // namespace

std::string EncodeCapabilityRecord(const CapabilityRecord& r) {
  std::string out;
  out.reserve(128);
  out.append(kMagic);
  PutVarint(out, kCapabilityRecordVersion);
  PutFixed64(out, r.node);
  PutSigned(out, r.address);
  PutString(out, r.name);
  PutSigned(out, r.cores);
  PutDouble(out, r.memory_gb);
  PutVarint(out, r.gpus.size());
  for (const auto& [model, count] : r.gpus) {
    PutString(out, model);
    PutSigned(out, count);
  }
  PutVarint(out, r.software.size());
  for (const std::string& tag : r.software) PutString(out, tag);
  PutVarint(out, r.roles.size());
  for (const std::string& role : r.roles) PutString(out, role);
  PutString(out, r.role);
  PutDouble(out, r.load);
  PutDouble(out, r.spare_cores);
  PutDouble(out, r.spare_memory_gb);
  PutVarint(out, r.spare_gpus.size());
  for (const auto& [model, count] : r.spare_gpus) {
    PutString(out, model);
    PutSigned(out, count);
  }
  PutDouble(out, r.published);
  PutVarint(out, r.offers.size());
  for (const OfferAd& o : r.offers) {
    PutVarint(out, o.id);
    PutString(out, o.resource);
    PutDouble(out, o.amount);
    PutDouble(out, o.expires);
  }
  return out;
}

absl::Status ValidateCapabilityRecord(const CapabilityRecord& r) {
  if (r.address < -1) return FieldError({"address"}, absl::StrCat(r.address, " is negative"));
  if (r.cores < 0) return FieldError({"cores"}, absl::StrCat(r.cores, " is negative"));
  MESHTWIN_RETURN_IF_ERROR(CheckNonNegative({"memory_gb"}, r.memory_gb));
  for (std::size_t i = 0; i < r.gpus.size(); ++i) {
    const auto index = static_cast<std::int64_t>(i);
    MESHTWIN_RETURN_IF_ERROR(CheckNonEmpty({"gpus", index, "model"}, r.gpus[i].first));
    if (r.gpus[i].second < 0) {
      return FieldError({"gpus", index, "count"}, absl::StrCat(r.gpus[i].second, " is negative"));
    }
  }
  for (std::size_t i = 0; i < r.software.size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(
        CheckNonEmpty({"software", static_cast<std::int64_t>(i)}, r.software[i]));
  }
  for (std::size_t i = 0; i < r.roles.size(); ++i) {
    MESHTWIN_RETURN_IF_ERROR(CheckNonEmpty({"roles", static_cast<std::int64_t>(i)}, r.roles[i]));
  }
  if (!(r.load >= 0 && r.load <= 1)) {  // also catches NaN
    return FieldError({"load"}, absl::StrCat(r.load, " is not in [0, 1]"));
  }
  MESHTWIN_RETURN_IF_ERROR(CheckNonNegative({"spare_cores"}, r.spare_cores));
  MESHTWIN_RETURN_IF_ERROR(CheckNonNegative({"spare_memory_gb"}, r.spare_memory_gb));
  std::int64_t index = 0;
  for (const auto& [model, count] : r.spare_gpus) {
    MESHTWIN_RETURN_IF_ERROR(CheckNonEmpty({"spare_gpus", index, "model"}, model));
    if (count < 0) {
      return FieldError({"spare_gpus", index, "count"}, absl::StrCat(count, " is negative"));
    }
    ++index;
  }
  if (!std::isfinite(r.published)) {
    return FieldError({"published"}, absl::StrCat(r.published, " is not a finite time"));
  }
  for (std::size_t i = 0; i < r.offers.size(); ++i) {
    const auto at = static_cast<std::int64_t>(i);
    const OfferAd& o = r.offers[i];
    MESHTWIN_RETURN_IF_ERROR(CheckNonEmpty({"offers", at, "resource"}, o.resource));
    MESHTWIN_RETURN_IF_ERROR(CheckNonNegative({"offers", at, "amount"}, o.amount));
    if (!std::isfinite(o.expires)) {
      return FieldError({"offers", at, "expires"},
                        absl::StrCat(o.expires, " is not a finite time"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CapabilityRecord> DecodeCapabilityRecord(std::string_view data) {
  CapabilityRecord record;
  MESHTWIN_RETURN_IF_ERROR(Parse(data, &record));
  MESHTWIN_RETURN_IF_ERROR(ValidateCapabilityRecord(record));
  return record;
}

std::vector<std::string> CapabilityKeys(const CapabilityRecord& r) {
  std::vector<std::string> keys;
  std::set<std::string, std::less<>> seen;
  auto add = [&](std::string key) {
    if (seen.insert(key).second) keys.push_back(std::move(key));
  };
  for (const std::string& role : r.roles) {
    if (!role.empty()) add(absl::StrCat("role:", role));
  }
  for (const auto& [model, count] : r.gpus) {
    if (!model.empty() && count > 0) add(absl::StrCat("gpu:", model));
  }
  for (std::int64_t n = 1; n <= r.cores; n *= 2) add(absl::StrCat("cpu:", n, "+"));
  if (r.memory_gb >= 1) {
    const std::int64_t top = FloorPowerOfTwo(r.memory_gb);
    for (std::int64_t n = 1;; n *= 2) {
      add(absl::StrCat("mem:", n, "G+"));
      if (n >= top) break;
    }
  }
  for (const std::string& tag : r.software) {
    if (!tag.empty()) add(absl::StrCat("sw:", tag));
  }
  return keys;
}

std::string CpuClassFor(double spare_cores) {
  return absl::StrCat("cpu:", FloorPowerOfTwo(spare_cores), "+");
}

std::string MemClassFor(double spare_memory_gb) {
  return absl::StrCat("mem:", FloorPowerOfTwo(spare_memory_gb), "G+");
}

std::string ResourceOf(std::string_view capability_class) {
  const auto parsed = ParseClass(capability_class);
  if (!parsed) return {};
  switch (parsed->kind) {
    case ClassKind::kMem:
      return "memory_gb";
    case ClassKind::kGpu:
      return std::string(capability_class);
    case ClassKind::kCpu:
    case ClassKind::kRole:
    case ClassKind::kSw:
      break;
  }
  return "cores";
}

double SpareOf(const CapabilityRecord& record, std::string_view resource) {
  if (resource == "cores") return record.spare_cores;
  if (resource == "memory_gb") return record.spare_memory_gb;
  if (resource.starts_with("gpu:")) {
    const auto it = record.spare_gpus.find(std::string(resource.substr(4)));
    return it == record.spare_gpus.end() ? 0.0 : it->second;
  }
  return 0;
}

std::optional<double> SpareFor(const CapabilityRecord& r, std::string_view capability_class) {
  const auto parsed = ParseClass(capability_class);
  if (!parsed) return std::nullopt;
  bool member = false;
  switch (parsed->kind) {
    case ClassKind::kRole:
      member = Contains(r.roles, parsed->name);
      break;
    case ClassKind::kSw:
      member = Contains(r.software, parsed->name);
      break;
    case ClassKind::kGpu:
      member = GpuCount(r, parsed->name) > 0;
      break;
    case ClassKind::kCpu:
      member = r.cores >= parsed->at_least;
      break;
    case ClassKind::kMem:
      member = r.memory_gb >= static_cast<double>(parsed->at_least);
      break;
  }
  if (!member) return std::nullopt;
  return SpareOf(r, ResourceOf(capability_class));
}

bool Matches(const CapabilityRecord& record, const CapacityQuery& query) {
  const std::optional<double> spare = SpareFor(record, query.capability_class);
  return spare.has_value() && *spare >= query.min_spare;
}

absl::StatusOr<CapabilityPublisher> CapabilityPublisher::Create(PublisherOptions options) {
  if (!std::isfinite(options.interval) || options.interval <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("capability publisher: interval ", options.interval, " must be > 0"));
  }
  if (!std::isfinite(options.ttl) || options.ttl <= options.interval) {
    return absl::InvalidArgumentError(
        absl::StrCat("capability publisher: ttl ", options.ttl, " must exceed the interval ",
                     options.interval, ", or a live node's record lapses between refreshes"));
  }
  return CapabilityPublisher(options);
}

absl::Status CapabilityPublisher::Update(CapabilityRecord record) {
  MESHTWIN_RETURN_IF_ERROR(ValidateCapabilityRecord(record));
  record_ = std::move(record);
  return absl::OkStatus();
}

std::vector<std::uint64_t> CapabilityPublisher::Refresh(Seconds now, Node& node, Effects* out) {
  record_.published = now;
  const std::string data = EncodeCapabilityRecord(record_);
  std::vector<std::string> classes = CapabilityKeys(record_);
  if (!options_.class_prefixes.empty()) {
    std::erase_if(classes, [this](const std::string& c) {
      return std::none_of(options_.class_prefixes.begin(), options_.class_prefixes.end(),
                          [&c](const std::string& prefix) { return c.starts_with(prefix); });
    });
  }
  std::vector<std::uint64_t> ops;
  ops.reserve(classes.size());
  for (const std::string& c : classes) {
    ops.push_back(node.Put(now, ClassKey(c), data, options_.ttl, out));
  }
  // Replace our value under classes we left, so readers see at once that we
  // no longer belong there; not refreshed again, it expires after one TTL.
  for (const std::string& c : published_classes_) {
    if (!Contains(classes, c)) ops.push_back(node.Put(now, ClassKey(c), data, options_.ttl, out));
  }
  published_classes_ = std::move(classes);
  next_refresh_ = now + options_.interval;
  return ops;
}

}  // namespace meshtwin::dht
