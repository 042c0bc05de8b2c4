// Capability records: what a mesh node can do and how much of it is spare,
// published in the DHT under one key per capability class ("role:web",
// "gpu:h100", "cpu:16+", "mem:64G+", "sw:cuda12") so that "nodes with at least
// X spare of capability C" is one Get and a filter. Sans-I/O like the DHT.
//
//   CapabilityPublisher pub = *CapabilityPublisher::Create({.interval = 30, .ttl = 90});
//   MESHTWIN_RETURN_IF_ERROR(pub.Update(record));  // whenever load or spare changes
//   pub.Refresh(now, node, &fx);              // Puts under every class key
//   ... set a timer for pub.NextRefresh() and call Refresh again then ...
//
//   node.Get(now, ClassKey("gpu:h100"), &fx); // later: fx.done[i].values
//   for (const StoredValue& v : values)
//     if (auto r = DecodeCapabilityRecord(v.data); r.ok() && Matches(*r, {"gpu:h100", 2})) ...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twin/dht/dht.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::dht {

// An open offer as advertised inside a record: `amount` of `resource` that a
// claimer may ask for with a ClaimRequest (see negotiation.h). Offers are per
// resource, not per capability class: every class that draws on the same
// cores ("cpu:8+", "role:web", "sw:cuda12") shares one offer, so the same core
// can never be granted twice through two classes.
struct OfferAd {
  std::uint64_t id = 0;
  std::string resource;  // "cores", "memory_gb" or "gpu:<model>"
  double amount = 0;     // in the resource's unit
  Seconds expires = 0;   // absolute; a claim after it is rejected
  friend bool operator==(const OfferAd&, const OfferAd&) = default;
};

// What one node publishes about itself.
struct CapabilityRecord {
  Key node = 0;          // DHT id of the node
  Address address = -1;  // where to send it claims
  std::string name;
  int cores = 0;
  double memory_gb = 0;
  std::vector<std::pair<std::string, int>> gpus;  // model -> count
  std::vector<std::string> software;              // tags ("cuda12", "python3.11")
  std::vector<std::string> roles;                 // roles it can take
  std::string role;                               // the role it holds now ("" if none)
  double load = 0;                                // 0..1
  double spare_cores = 0;
  double spare_memory_gb = 0;
  std::map<std::string, int> spare_gpus;  // model -> idle GPUs
  Seconds published = 0;                  // when this version was put
  std::vector<OfferAd> offers;            // open offers (OfferBook::Advertise)
  friend bool operator==(const CapabilityRecord&, const CapabilityRecord&) = default;
};

// Wire format version written by EncodeCapabilityRecord.
inline constexpr std::uint8_t kCapabilityRecordVersion = 1;
// Decode refuses anything longer: a record is a few hundred bytes.
inline constexpr std::size_t kMaxCapabilityRecordBytes = 64 * 1024;

// A compact binary form for StoredValue::data: a 3-byte magic ("MTC"), the
// version, then the fields in declaration order (varints, little-endian
// IEEE doubles so values round-trip exactly, length-prefixed strings).
std::string EncodeCapabilityRecord(const CapabilityRecord& record);
// The inverse. Data from the network is untrusted: any truncation, garbage or
// out-of-range value gives an InvalidArgumentError naming the field
// ("capability record: field 'gpus[1].count': ..."), never a crash or a huge
// allocation.
absl::StatusOr<CapabilityRecord> DecodeCapabilityRecord(std::string_view data);
// The value checks Decode applies after parsing: counts and cores >= 0,
// memory, spares and offer amounts finite and >= 0, load in [0, 1], times
// finite, no empty GPU model, tag, role or offer resource.
absl::Status ValidateCapabilityRecord(const CapabilityRecord& record);

// The capability classes a record is stored under, in this order: "role:<r>"
// per role it can take, "gpu:<model>" per GPU model it has, "cpu:N+" for every
// power of two N <= cores, "mem:NG+" for every power of two N <= memory_gb,
// "sw:<tag>" per software tag. Duplicates are dropped.
std::vector<std::string> CapabilityKeys(const CapabilityRecord& record);
// The DHT key a capability class is stored under.
inline Key ClassKey(std::string_view capability_class) { return HashKey(capability_class); }

// The narrowest "cpu:N+" / "mem:NG+" class that holds every node able to
// spare `amount` (N: the largest power of two <= amount, at least 1), so a
// query for 12 spare cores reads "cpu:8+" rather than the crowded "cpu:1+".
std::string CpuClassFor(double spare_cores);
std::string MemClassFor(double spare_memory_gb);

// The resource a class's spare is measured in: "cores" for cpu:, role: and
// sw:, "memory_gb" for mem:, "gpu:<model>" for gpu:. Empty for an unknown or
// malformed class.
std::string ResourceOf(std::string_view capability_class);
// The record's spare of `resource` (0 if it has none).
double SpareOf(const CapabilityRecord& record, std::string_view resource);
// The record's spare in the unit of `capability_class`, or nullopt if the
// record is not in that class (fewer cores than "cpu:N+" says, role or tag or
// GPU model missing, unknown class).
std::optional<double> SpareFor(const CapabilityRecord& record, std::string_view capability_class);

// "Nodes with at least `min_spare` spare of `capability_class`", spare in the
// class's unit: cores for cpu:, role: and sw:, GPUs for gpu:, GB for mem:.
struct CapacityQuery {
  std::string capability_class;
  double min_spare = 0;
};
bool Matches(const CapabilityRecord& record, const CapacityQuery& query);

struct PublisherOptions {
  Seconds interval = 30;  // re-Put every class key this often
  Seconds ttl = 90;       // each Put lives this long; must exceed interval (3x: two lost refreshes)
  // Publish only under the classes that start with one of these ("role:"),
  // when nobody reads the others: each class costs a Put per refresh.
  // Empty: every class of CapabilityKeys.
  std::vector<std::string> class_prefixes = {};
};

// Keeps one node's record alive in the DHT: Refresh Puts it under every class
// key with the TTL; the caller calls Refresh again at NextRefresh(). A live
// node's record never lapses (ttl > interval); a dead node stops refreshing
// and its record expires by itself. Classes the node left since the last
// refresh get the new record once more, so readers (who filter with Matches)
// stop seeing it there at once, and then expire. Not thread-safe.
class CapabilityPublisher {
 public:
  // InvalidArgument unless 0 < interval < ttl (both finite).
  static absl::StatusOr<CapabilityPublisher> Create(PublisherOptions options);

  // The record to publish from the next Refresh on. Refuses (and keeps the
  // previous one) a record that ValidateCapabilityRecord rejects: every
  // reader would drop it.
  absl::Status Update(CapabilityRecord record);
  const CapabilityRecord& record() const { return record_; }
  const PublisherOptions& options() const { return options_; }

  // Stamps record().published = now and Puts it under ClassKey of every
  // class; returns the Put operation ids. Next refresh: now + interval.
  std::vector<std::uint64_t> Refresh(Seconds now, Node& node, Effects* out);
  // When the caller should call Refresh next (0 before the first one: now).
  Seconds NextRefresh() const { return next_refresh_; }

 private:
  explicit CapabilityPublisher(PublisherOptions options) : options_(options) {}

  PublisherOptions options_;
  CapabilityRecord record_;
  std::vector<std::string> published_classes_;  // as of the last refresh
  Seconds next_refresh_ = 0;
};

}  // namespace meshtwin::dht
