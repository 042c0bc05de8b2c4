#include "twin/dht/capability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <tuple>
#include <variant>

#include "twin/dht/negotiation.h"

namespace meshtwin::dht {
namespace {

using ::testing::HasSubstr;

CapabilityRecord SampleRecord() {
  CapabilityRecord r;
  r.node = HashKey("gpu-7");
  r.address = 7;
  r.name = "gpu-7";
  r.cores = 24;
  r.memory_gb = 96;
  r.gpus = {{"h100", 2}, {"a10", 1}};
  r.software = {"cuda12", "python3.11"};
  r.roles = {"batch", "inference"};
  r.role = "batch";
  r.load = 0.4;
  r.spare_cores = 14.5;
  r.spare_memory_gb = 60;
  r.spare_gpus = {{"h100", 1}, {"a10", 0}};
  r.published = 120.25;
  r.offers = {{3, "cores", 14.5, 210}, {4, "gpu:h100", 1, 210}};
  return r;
}

// A record offering `spare` cores through offer `offer`, valid until `expires`.
CapabilityRecord Provider(Key node, Address address, int cores, double spare,
                          std::uint64_t offer = 1, Seconds expires = 1000) {
  CapabilityRecord r;
  r.node = node;
  r.address = address;
  r.name = "n" + std::to_string(address);
  r.cores = cores;
  r.memory_gb = 4.0 * cores;
  r.roles = {"web"};
  r.spare_cores = spare;
  r.offers = {{offer, "cores", spare, expires}};
  return r;
}

std::string ErrorOf(std::string_view data) {
  auto r = DecodeCapabilityRecord(data);
  return r.ok() ? "" : ErrorText(r.status());
}

// --- Records on the wire ---------------------------------------------------

TEST(CapabilityRecord, RoundTripsExactly) {
  const CapabilityRecord sample = SampleRecord();
  const std::string data = EncodeCapabilityRecord(sample);
  auto back = DecodeCapabilityRecord(data);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sample);
  EXPECT_LT(data.size(), 256u) << "a record is stored under a dozen keys: keep it small";

  // Values that text formats lose: binary bytes in strings, doubles' last bits.
  CapabilityRecord odd;
  odd.name = std::string("a\0b\xff\n", 5);
  odd.software = {"tag with spaces", "ü"};
  odd.memory_gb = 0.1 + 0.2;
  odd.spare_cores = std::nextafter(3.0, 4.0);
  odd.published = -1.5;
  odd.address = -1;
  auto odd_back = DecodeCapabilityRecord(EncodeCapabilityRecord(odd));
  ASSERT_TRUE(odd_back.ok()) << odd_back.status();
  EXPECT_EQ(*odd_back, odd);

  auto empty_back = DecodeCapabilityRecord(EncodeCapabilityRecord(CapabilityRecord{}));
  ASSERT_TRUE(empty_back.ok()) << empty_back.status();
  EXPECT_EQ(*empty_back, CapabilityRecord{});
}

TEST(CapabilityRecord, EveryTruncationIsAnErrorNamingAField) {
  const std::string data = EncodeCapabilityRecord(SampleRecord());
  for (std::size_t n = 0; n < data.size(); ++n) {
    auto r = DecodeCapabilityRecord(std::string_view(data).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ErrorText(r.status()), HasSubstr("capability record: field '")) << n;
  }
}

TEST(CapabilityRecord, ErrorsNameTheField) {
  const std::string good = EncodeCapabilityRecord(SampleRecord());
  EXPECT_THAT(ErrorOf("hello world"), HasSubstr("field 'magic'"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("field 'magic'"));
  EXPECT_THAT(ErrorOf(std::string("MTC\x02") + good.substr(4)),
              HasSubstr("field 'version': 2 is not supported"));
  EXPECT_THAT(ErrorOf(good + "x"), HasSubstr("1 unexpected bytes after the last field"));
  EXPECT_THAT(ErrorOf(std::string(kMaxCapabilityRecordBytes + 1, 'M')), HasSubstr("field 'size'"));

  auto bad = [](auto change) {
    CapabilityRecord r = SampleRecord();
    change(r);
    return ErrorOf(EncodeCapabilityRecord(r));
  };
  EXPECT_THAT(bad([](auto& r) { r.load = 1.5; }), HasSubstr("field 'load': 1.5 is not in [0, 1]"));
  EXPECT_THAT(bad([](auto& r) { r.load = std::nan(""); }), HasSubstr("field 'load'"));
  EXPECT_THAT(bad([](auto& r) { r.cores = -2; }), HasSubstr("field 'cores'"));
  EXPECT_THAT(bad([](auto& r) { r.memory_gb = std::numeric_limits<double>::infinity(); }),
              HasSubstr("field 'memory_gb'"));
  EXPECT_THAT(bad([](auto& r) { r.spare_cores = -1; }), HasSubstr("field 'spare_cores'"));
  EXPECT_THAT(bad([](auto& r) { r.gpus[1].second = -1; }), HasSubstr("field 'gpus[1].count'"));
  EXPECT_THAT(bad([](auto& r) { r.gpus[0].first = ""; }), HasSubstr("field 'gpus[0].model'"));
  EXPECT_THAT(bad([](auto& r) { r.roles[1] = ""; }), HasSubstr("field 'roles[1]'"));
  EXPECT_THAT(bad([](auto& r) { r.spare_gpus["h100"] = -3; }),
              HasSubstr("field 'spare_gpus[1].count'"));  // a10 sorts first
  EXPECT_THAT(bad([](auto& r) { r.offers[1].amount = std::nan(""); }),
              HasSubstr("field 'offers[1].amount'"));
  EXPECT_THAT(bad([](auto& r) { r.published = std::nan(""); }), HasSubstr("field 'published'"));

  // A count or length far beyond the data must not allocate: it is an error.
  std::string huge = "MTC\x01";
  huge += std::string(8, '\0');    // node
  huge += std::string("\0\0", 2);  // address 0, name ""
  huge += std::string("\0", 1);    // cores 0
  huge += std::string(8, '\0');    // memory_gb 0
  EXPECT_THAT(ErrorOf(huge + "\xff\xff\xff\xff\x0f"), HasSubstr("field 'gpus': count 4294967295"));
  EXPECT_THAT(ErrorOf(huge + "\x01\xff\xff\xff\xff\x0f"),
              HasSubstr("field 'gpus[0].model': length 4294967295"));
  EXPECT_THAT(ErrorOf(huge + std::string(11, '\xff')), HasSubstr("field 'gpus'"));
}

TEST(CapabilityRecord, GarbageIsAnErrorNeverACrash) {
  const std::string good = EncodeCapabilityRecord(SampleRecord());
  std::mt19937_64 rng(42);
  auto byte = [&] { return static_cast<char>(rng() & 0xff); };
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string data;
    switch (i % 4) {
      case 0:  // random bytes
        data.resize(rng() % 200);
        for (char& c : data) c = byte();
        break;
      case 1:  // a valid header, then random bytes: reaches the inner fields
        data = good.substr(0, 4 + rng() % (good.size() - 4));
        for (int k = 0; k < 40; ++k) data.push_back(byte());
        break;
      case 2:  // a valid record with a few bytes changed
        data = good;
        for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
          data[rng() % data.size()] = byte();
        break;
      default:  // bytes inserted or deleted
        data = good;
        if (rng() % 2) {
          data.insert(data.begin() + static_cast<long>(rng() % data.size()), byte());
        } else {
          data.erase(rng() % data.size(), 1);
        }
    }
    auto r = DecodeCapabilityRecord(data);
    if (r.ok()) {
      // Whatever decodes is a valid record that round-trips.
      ++decoded;
      EXPECT_TRUE(ValidateCapabilityRecord(*r).ok());
      auto again = DecodeCapabilityRecord(EncodeCapabilityRecord(*r));
      ASSERT_TRUE(again.ok());
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(decoded, 0) << "some single-byte changes land in strings and still decode";
}

// --- Classes, keys and queries --------------------------------------------

TEST(CapabilityKeys, SampleRecordIsStoredUnderEveryClassItBelongsTo) {
  EXPECT_EQ(CapabilityKeys(SampleRecord()),
            (std::vector<std::string>{"role:batch", "role:inference", "gpu:h100", "gpu:a10",
                                      "cpu:1+", "cpu:2+", "cpu:4+", "cpu:8+", "cpu:16+", "mem:1G+",
                                      "mem:2G+", "mem:4G+", "mem:8G+", "mem:16G+", "mem:32G+",
                                      "mem:64G+", "sw:cuda12", "sw:python3.11"}));
  EXPECT_EQ(ClassKey("gpu:h100"), HashKey("gpu:h100"));

  CapabilityRecord edge;
  edge.cores = 16;              // exactly a power of two: 16+ included
  edge.memory_gb = 0.5;         // under 1 GB: no memory class
  edge.roles = {"web", "web"};  // duplicates dropped
  edge.gpus = {{"t4", 0}};      // no GPU of the model: no class
  EXPECT_EQ(CapabilityKeys(edge), (std::vector<std::string>{"role:web", "cpu:1+", "cpu:2+",
                                                            "cpu:4+", "cpu:8+", "cpu:16+"}));
  EXPECT_TRUE(CapabilityKeys(CapabilityRecord{}).empty());
}

TEST(CapabilityKeys, QueryClassHoldsEveryNodeWithThatMuchSpare) {
  EXPECT_EQ(CpuClassFor(12), "cpu:8+");
  EXPECT_EQ(CpuClassFor(16), "cpu:16+");
  EXPECT_EQ(CpuClassFor(0.5), "cpu:1+");
  EXPECT_EQ(MemClassFor(100), "mem:64G+");
  // A node can spare at most what it has, so it is in the class the query reads.
  for (int cores = 1; cores <= 70; ++cores) {
    CapabilityRecord r;
    r.cores = cores;
    r.memory_gb = cores * 1.5;
    const std::vector<std::string> keys = CapabilityKeys(r);
    for (double spare = 1; spare <= cores; spare += 0.75) {
      EXPECT_NE(std::find(keys.begin(), keys.end(), CpuClassFor(spare)), keys.end())
          << cores << " cores, " << spare << " spare";
      if (spare <= r.memory_gb) {
        EXPECT_NE(std::find(keys.begin(), keys.end(), MemClassFor(spare)), keys.end());
      }
    }
  }
}

TEST(CapabilityMatch, AtLeastXSpareOfCapabilityC) {
  const CapabilityRecord r = SampleRecord();  // 24 cores (14.5 spare), 96 GB (60), h100 1 spare
  struct Case {
    const char* capability_class;
    double min_spare;
    bool matches;
  };
  for (const Case& c : std::vector<Case>{
           {"cpu:16+", 14, true},        {"cpu:16+", 14.5, true},
           {"cpu:16+", 15, false},                               // not that much spare
           {"cpu:32+", 0, false},                                // not in the class
           {"cpu:24+", 1, true},                                 // any N, not only powers of two
           {"gpu:h100", 1, true},                                // spare counted in GPUs
           {"gpu:h100", 2, false},       {"gpu:a10", 1, false},  // has one, none spare
           {"gpu:a10", 0, true},         {"gpu:v100", 0, false},
           {"mem:64G+", 60, true},  // spare counted in GB
           {"mem:64G+", 61, false},      {"mem:128G+", 0, false},
           {"role:inference", 10, true},  // roles and tags count spare cores
           {"role:web", 0, false},       {"sw:cuda12", 14.5, true},
           {"sw:rocm", 0, false},        {"cpu:abc", 0, false},  // malformed classes match nothing
           {"cpu:16", 0, false},         {"mem:16+", 0, false},
           {"role:", 0, false},          {"bogus", 0, false},
       }) {
    EXPECT_EQ(Matches(r, {c.capability_class, c.min_spare}), c.matches)
        << c.capability_class << " >= " << c.min_spare;
  }
  EXPECT_EQ(ResourceOf("role:web"), "cores");
  EXPECT_EQ(ResourceOf("mem:8G+"), "memory_gb");
  EXPECT_EQ(ResourceOf("gpu:h100"), "gpu:h100");
  EXPECT_EQ(ResourceOf("nonsense"), "");
}

// --- Publishing -------------------------------------------------------------

// A one-node "DHT" that stores what is Put (one value per key and publisher,
// with expiry) and answers Get at once: enough to watch a publisher.
class StoreNode : public Node {
 public:
  Contact self() const override { return {HashKey("store"), 0}; }
  std::string_view protocol() const override { return "store"; }
  void Join(Seconds, Contact, Effects*) override {}
  void Leave(Seconds, Effects*) override {}
  void OnMessage(Seconds, const Message&, Effects*) override {}
  void OnTimer(Seconds, std::uint64_t, Effects*) override {}
  std::uint64_t Lookup(Seconds, Key, Effects*) override { return ++op_; }
  std::uint64_t Put(Seconds now, Key key, std::string data, Seconds ttl, Effects* out) override {
    values_[key] = StoredValue{key, self().id, std::move(data), now + ttl};
    ++puts_[key];
    OpResult done;
    done.op = ++op_;
    done.kind = OpKind::kPut;
    done.ok = true;
    done.key = key;
    out->done.push_back(done);
    return op_;
  }
  std::uint64_t Get(Seconds, Key, Effects*) override { return ++op_; }
  bool joined() const override { return true; }
  std::vector<StoredValue> StoredValues(Seconds now) const override {
    std::vector<StoredValue> out;
    for (const auto& [key, v] : values_) {
      if (now < v.expires) out.push_back(v);
    }
    return out;
  }
  std::vector<Contact> RoutingContacts(std::size_t) const override { return {}; }
  // The unexpired value under a class, decoded.
  std::optional<CapabilityRecord> At(Seconds now, std::string_view capability_class) const {
    auto it = values_.find(ClassKey(capability_class));
    if (it == values_.end() || now >= it->second.expires) return std::nullopt;
    auto r = DecodeCapabilityRecord(it->second.data);
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }
  int puts(std::string_view capability_class) const {
    auto it = puts_.find(ClassKey(capability_class));
    return it == puts_.end() ? 0 : it->second;
  }

 private:
  std::uint64_t op_ = 0;
  std::map<Key, StoredValue> values_;
  std::map<Key, int> puts_;
};

TEST(CapabilityPublisher, TtlMustExceedTheInterval) {
  EXPECT_FALSE(CapabilityPublisher::Create({.interval = 30, .ttl = 30}).ok());
  EXPECT_FALSE(CapabilityPublisher::Create({.interval = 30, .ttl = 10}).ok());
  EXPECT_FALSE(CapabilityPublisher::Create({.interval = 0, .ttl = 10}).ok());
  EXPECT_FALSE(CapabilityPublisher::Create({.interval = std::nan(""), .ttl = 10}).ok());
  auto p = CapabilityPublisher::Create({.interval = 30, .ttl = 30});
  EXPECT_THAT(ErrorText(p.status()), HasSubstr("must exceed the interval"));
  EXPECT_TRUE(CapabilityPublisher::Create({}).ok());
  EXPECT_GT(PublisherOptions{}.ttl, PublisherOptions{}.interval);
}

TEST(CapabilityPublisher, LiveRecordNeverLapsesDeadOneExpires) {
  auto publisher = CapabilityPublisher::Create({.interval = 30, .ttl = 90});
  ASSERT_TRUE(publisher.ok());
  ASSERT_TRUE(publisher->Update(SampleRecord()).ok());
  StoreNode store;
  Effects fx;
  EXPECT_EQ(publisher->NextRefresh(), 0);

  // The caller's timer: refresh at NextRefresh() until the node dies at 600.
  const Seconds death = 600;
  Seconds last_refresh = -1;
  for (Seconds t = 0; t <= 800; t += 1) {
    if (t < death && t >= publisher->NextRefresh()) {
      const auto ops = publisher->Refresh(t, store, &fx);
      EXPECT_EQ(ops.size(), CapabilityKeys(SampleRecord()).size());
      EXPECT_EQ(publisher->NextRefresh(), t + 30);
      last_refresh = t;
    }
    for (const std::string& c : CapabilityKeys(SampleRecord())) {
      const auto r = store.At(t, c);
      if (t < last_refresh + 90) {
        ASSERT_TRUE(r.has_value()) << c << " lapsed at " << t;
        EXPECT_EQ(r->published, last_refresh);
        EXPECT_EQ(r->node, SampleRecord().node);
      } else {
        EXPECT_FALSE(r.has_value()) << c << " outlived its node at " << t;
      }
    }
  }
  EXPECT_EQ(last_refresh, 570);
  EXPECT_EQ(store.puts("gpu:h100"), 20);  // 0, 30, ..., 570
  EXPECT_TRUE(store.StoredValues(570 + 90).empty());
}

TEST(CapabilityPublisher, LeftClassesSeeTheNewRecordOnceThenExpire) {
  auto publisher = CapabilityPublisher::Create({.interval = 30, .ttl = 90});
  ASSERT_TRUE(publisher.ok());
  StoreNode store;
  Effects fx;
  CapabilityRecord r = SampleRecord();
  ASSERT_TRUE(publisher->Update(r).ok());
  publisher->Refresh(0, store, &fx);

  r.roles = {"batch"};  // no longer takes "inference"
  ASSERT_TRUE(publisher->Update(r).ok());
  publisher->Refresh(30, store, &fx);
  publisher->Refresh(60, store, &fx);
  EXPECT_EQ(store.puts("role:inference"), 2);  // the old one, then the new record once
  EXPECT_EQ(store.puts("role:batch"), 3);
  const auto stale = store.At(61, "role:inference");
  ASSERT_TRUE(stale.has_value());
  EXPECT_FALSE(Matches(*stale, {"role:inference", 0})) << "readers filter it out at once";
  EXPECT_FALSE(store.At(30 + 90, "role:inference").has_value());

  // A record every reader would refuse is not published; the last good one stays.
  r.load = 3;
  EXPECT_THAT(ErrorText(publisher->Update(r)), HasSubstr("field 'load'"));
  EXPECT_EQ(publisher->record().load, SampleRecord().load);
}

TEST(CapabilityPublisher, PublishesOnlyUnderTheClassPrefixesAsked) {
  auto publisher =
      CapabilityPublisher::Create({.interval = 30, .ttl = 90, .class_prefixes = {"role:"}});
  ASSERT_TRUE(publisher.ok());
  StoreNode store;
  Effects fx;
  const CapabilityRecord r = SampleRecord();
  ASSERT_TRUE(publisher->Update(r).ok());
  std::size_t roles = 0;
  for (const std::string& c : CapabilityKeys(r)) roles += c.starts_with("role:") ? 1 : 0;
  ASSERT_GT(CapabilityKeys(r).size(), roles);
  EXPECT_EQ(publisher->Refresh(0, store, &fx).size(), roles);
  EXPECT_TRUE(store.At(1, "role:" + r.roles[0]).has_value());
  EXPECT_FALSE(store.At(1, "cpu:1+").has_value());
}

// --- Offers and claims -----------------------------------------------------

const Contact kProvider{HashKey("provider"), 1};
const Contact kAlice{HashKey("alice"), 10};
const Contact kBob{HashKey("bob"), 11};

ClaimRequest Request(std::uint64_t claim, const OfferAd& offer, Contact claimer, double amount) {
  return ClaimRequest{claim, offer.id, offer.resource, claimer, kProvider, amount};
}

// What a provider would answer to `r` (the reply's provider: r.provider).
ClaimReply Answer(const ClaimRequest& r, bool accepted, double amount,
                  RejectReason reason = RejectReason::kNone) {
  return ClaimReply{r.claim, r.offer, r.claimer, r.provider, accepted, amount, reason, ""};
}

TEST(NegotiationOfferBook, AdvertisesOneOfferPerSpareResourceAndKeepsIds) {
  OfferBook book(kProvider);
  CapabilityRecord r = SampleRecord();
  const std::vector<OfferAd> first = book.Advertise(100, r, 90);
  ASSERT_EQ(first.size(), 3u);  // cores, memory, h100 (a10 has none spare)
  EXPECT_EQ(first[0], (OfferAd{1, "cores", 14.5, 190}));
  EXPECT_EQ(first[1], (OfferAd{2, "memory_gb", 60, 190}));
  EXPECT_EQ(first[2], (OfferAd{3, "gpu:h100", 1, 190}));

  r.spare_cores = 10;        // load went up: same offer, new amount and expiry
  r.spare_gpus["h100"] = 0;  // the GPU got busy: its offer is withdrawn
  const std::vector<OfferAd> second = book.Advertise(130, r, 90);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0], (OfferAd{1, "cores", 10, 220}));
  EXPECT_EQ(second[1], (OfferAd{2, "memory_gb", 60, 220}));
  const ClaimReply withdrawn = book.OnClaim(131, Request(1, first[2], kAlice, 1));
  EXPECT_FALSE(withdrawn.accepted);
  EXPECT_EQ(withdrawn.reason, RejectReason::kWithdrawn);

  r.spare_gpus["h100"] = 1;  // free again: a new offer, a new id
  const std::vector<OfferAd> third = book.Advertise(160, r, 90);
  ASSERT_EQ(third.size(), 3u);
  EXPECT_EQ(third[2].id, 4u);
}

TEST(NegotiationOfferBook, TwoClaimersInTheSameInstantExactlyOneIsGranted) {
  for (const bool reoffer : {false, true}) {
    OfferBook book(kProvider, {.reoffer_remainder = reoffer});
    const OfferAd offer = book.Advertise(0, Provider(kProvider.id, 1, 8, 8), 90)[0];
    // Both ask for the whole offer, arriving back to back at t = 5.
    const ClaimReply a = book.OnClaim(5, Request(1, offer, kAlice, 8));
    const ClaimReply b = book.OnClaim(5, Request(1, offer, kBob, 8));
    EXPECT_TRUE(a.accepted);
    EXPECT_EQ(a.amount, 8);
    EXPECT_FALSE(b.accepted);
    EXPECT_EQ(b.reason, RejectReason::kAlreadyGranted);
    EXPECT_THAT(b.detail, HasSubstr("already granted to claim 1"));
    ASSERT_EQ(book.grants().size(), 1u);
    EXPECT_EQ(book.grants()[0].claimer, kAlice);
    EXPECT_TRUE(book.OpenOffers(5).empty()) << "nothing left to re-offer";
  }
}

TEST(NegotiationOfferBook, RepeatedRequestGetsTheSameAcceptNotASecondGrant) {
  OfferBook book(kProvider);
  const OfferAd offer = book.Advertise(0, Provider(kProvider.id, 1, 8, 8), 90)[0];
  const ClaimReply first = book.OnClaim(1, Request(7, offer, kAlice, 8));
  const ClaimReply again = book.OnClaim(3, Request(7, offer, kAlice, 8));  // a retransmission
  EXPECT_TRUE(first.accepted);
  EXPECT_TRUE(again.accepted);
  EXPECT_EQ(again.amount, 8);
  EXPECT_EQ(book.grants().size(), 1u);
  EXPECT_FALSE(book.OnClaim(3, Request(8, offer, kAlice, 8)).accepted) << "another claim";
}

TEST(NegotiationOfferBook, RejectsWithAReason) {
  OfferBook book(kProvider, {.reoffer_remainder = false});
  const OfferAd offer = book.Advertise(0, Provider(kProvider.id, 1, 8, 6), 90)[0];
  auto reason = [&](ClaimRequest request, Seconds now = 1) {
    const ClaimReply reply = book.OnClaim(now, request);
    EXPECT_FALSE(reply.accepted);
    EXPECT_FALSE(reply.detail.empty());
    EXPECT_EQ(reply.provider, kProvider);
    EXPECT_EQ(reply.claim, request.claim);
    return reply.reason;
  };
  OfferAd unknown = offer;
  unknown.id = 99;
  EXPECT_EQ(reason(Request(1, unknown, kAlice, 1)), RejectReason::kUnknownOffer);
  OfferAd memory = offer;
  memory.resource = "memory_gb";
  EXPECT_EQ(reason(Request(2, memory, kAlice, 1)), RejectReason::kWrongResource);
  EXPECT_EQ(reason(Request(3, offer, kAlice, 0)), RejectReason::kBadAmount);
  EXPECT_EQ(reason(Request(4, offer, kAlice, -1)), RejectReason::kBadAmount);
  EXPECT_EQ(reason(Request(5, offer, kAlice, std::nan(""))), RejectReason::kBadAmount);
  EXPECT_EQ(reason(Request(6, offer, kAlice, 1), 90), RejectReason::kExpired);
  EXPECT_EQ(reason(Request(7, offer, kAlice, 6.5)), RejectReason::kExceedsOffer);
  EXPECT_EQ(book.OnClaim(1, Request(7, offer, kAlice, 6.5)).amount, 6) << "says what it holds";
  EXPECT_TRUE(book.grants().empty());

  EXPECT_TRUE(book.OnClaim(1, Request(8, offer, kAlice, 2)).accepted);
  EXPECT_EQ(reason(Request(9, offer, kBob, 2)), RejectReason::kAlreadyGranted);
  EXPECT_TRUE(book.OpenOffers(1).empty()) << "no re-offer when turned off";

  OfferBook other(kProvider);
  const OfferAd o = other.Advertise(0, Provider(kProvider.id, 1, 8, 6), 90)[0];
  EXPECT_TRUE(other.Withdraw(o.id));
  EXPECT_FALSE(other.Withdraw(o.id));
  EXPECT_EQ(other.OnClaim(1, Request(1, o, kAlice, 1)).reason, RejectReason::kWithdrawn);
}

TEST(NegotiationOfferBook, PartialGrantReoffersTheRest) {
  OfferBook book(kProvider);
  const OfferAd offer = book.Advertise(0, Provider(kProvider.id, 1, 16, 14.5), 90)[0];
  EXPECT_TRUE(book.OnClaim(1, Request(1, offer, kAlice, 4)).accepted);
  const std::vector<OfferAd> open = book.OpenOffers(1);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_NE(open[0].id, offer.id);
  EXPECT_EQ(open[0].amount, 10.5);
  EXPECT_EQ(open[0].expires, offer.expires);
  EXPECT_EQ(book.OnClaim(1, Request(2, offer, kBob, 1)).reason, RejectReason::kAlreadyGranted);
  EXPECT_TRUE(book.OnClaim(1, Request(2, open[0], kBob, 10.5)).accepted);
  EXPECT_TRUE(book.OpenOffers(1).empty());
}

TEST(NegotiationClaimer, RanksMostSpareFirstTiesByNodeId) {
  std::vector<CapabilityRecord> records = {
      Provider(30, 3, 16, 4),
      Provider(20, 2, 16, 8),
      Provider(10, 1, 16, 8),
      Provider(40, 4, 16, 12, 1, /*expires=*/50),   // offer expired by t = 60
      Provider(50, 5, 16, 1.5),                     // below min_spare
      Provider(60, 6, 4, 3),                        // not in cpu:8+
      Provider(kAlice.id, kAlice.address, 16, 16),  // the claimer itself
  };
  records.push_back(Provider(30, 3, 16, 9, 2));  // node 30 again, newer
  records.back().published = 5;
  CapabilityRecord memory_only = Provider(70, 7, 16, 15);
  memory_only.offers[0].resource = "memory_gb";  // no offer of cores
  records.push_back(memory_only);

  const auto ranked = RankCandidates(60, {"cpu:8+", 2}, records, kAlice.id);
  std::vector<std::tuple<Key, std::uint64_t, double>> got;
  for (const ClaimCandidate& c : ranked) got.emplace_back(c.provider.id, c.offer.id, c.available);
  EXPECT_EQ(got, (std::vector<std::tuple<Key, std::uint64_t, double>>{
                     {30, 2, 9}, {10, 1, 8}, {20, 1, 8}}));
  EXPECT_EQ(ranked[0].provider.address, 3);
  EXPECT_TRUE(RankCandidates(0, {"bogus", 0}, records, 0).empty());
}

TEST(NegotiationClaimer, FallsThroughToTheNextCandidateOnReject) {
  Claimer claimer(kAlice);
  ClaimEffects fx;
  const std::vector<CapabilityRecord> records = {Provider(1, 1, 16, 8), Provider(2, 2, 16, 6)};
  const std::uint64_t op = claimer.Claim(0, {"cpu:4+", 1}, 5, records, &fx);
  ASSERT_EQ(fx.send.size(), 1u);
  const ClaimRequest first = fx.send[0];
  EXPECT_EQ(first.provider, (Contact{1, 1}));  // most spare first
  EXPECT_EQ(first.amount, 5);                  // only what is needed
  EXPECT_EQ(first.claimer, kAlice);
  fx.Clear();

  claimer.OnReply(0.1, Answer(first, false, 0, RejectReason::kAlreadyGranted), &fx);
  ASSERT_EQ(fx.send.size(), 1u);
  const ClaimRequest second = fx.send[0];
  EXPECT_EQ(second.provider, (Contact{2, 2}));
  EXPECT_NE(second.claim, first.claim);
  EXPECT_TRUE(fx.done.empty());
  fx.Clear();

  claimer.OnReply(0.2, Answer(second, true, 5), &fx);
  ASSERT_EQ(fx.done.size(), 1u);
  const ClaimResult& result = fx.done[0];
  EXPECT_EQ(result.op, op);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.granted, 5);
  ASSERT_EQ(result.grants.size(), 1u);
  EXPECT_EQ(result.grants[0].provider, (Contact{2, 2}));
  EXPECT_EQ(result.claims_sent, 2);
  EXPECT_EQ(result.finished, 0.2);
  EXPECT_TRUE(fx.send.empty());
  EXPECT_EQ(claimer.running(), 0u);

  // The stale timers of both claims fire later: nothing happens.
  fx.Clear();
  claimer.OnTimer(2, 1, &fx);
  claimer.OnTimer(2.1, 2, &fx);
  EXPECT_TRUE(fx.send.empty() && fx.done.empty());
}

TEST(NegotiationClaimer, FallsThroughOnTimeoutAfterOneRetry) {
  Claimer claimer(kAlice, {.reply_timeout = 2, .attempts = 2});
  ClaimEffects fx;
  const std::vector<CapabilityRecord> records = {Provider(1, 1, 16, 8), Provider(2, 2, 16, 6)};
  claimer.Claim(0, {"cpu:4+", 1}, 5, records, &fx);
  ASSERT_EQ(fx.send.size(), 1u);
  ASSERT_EQ(fx.timers.size(), 1u);
  const ClaimRequest first = fx.send[0];
  EXPECT_EQ(fx.timers[0].at, 2);
  std::uint64_t token = fx.timers[0].token;
  fx.Clear();

  claimer.OnTimer(2, token, &fx);  // silence: the same claim again
  ASSERT_EQ(fx.send.size(), 1u);
  EXPECT_EQ(fx.send[0], first);
  ASSERT_EQ(fx.timers.size(), 1u);
  EXPECT_EQ(fx.timers[0].at, 4);
  token = fx.timers[0].token;
  fx.Clear();

  claimer.OnTimer(4, token, &fx);  // silence again: the next candidate
  ASSERT_EQ(fx.send.size(), 1u);
  const ClaimRequest second = fx.send[0];
  EXPECT_EQ(second.provider, (Contact{2, 2}));
  fx.Clear();

  claimer.OnReply(4.1, Answer(second, true, 5), &fx);
  ASSERT_EQ(fx.done.size(), 1u);
  EXPECT_TRUE(fx.done[0].ok);
  EXPECT_EQ(fx.done[0].claims_sent, 3);
  fx.Clear();

  // The first provider was only slow: its accept is reported, not lost.
  claimer.OnReply(5, Answer(first, true, 5), &fx);
  ASSERT_EQ(fx.late.size(), 1u);
  EXPECT_EQ(fx.late[0].provider, (Contact{1, 1}));
  EXPECT_EQ(fx.late[0].amount, 5);
  fx.Clear();
  claimer.OnReply(5, Answer(first, true, 5), &fx);
  EXPECT_TRUE(fx.late.empty()) << "a duplicate reply counts once";
}

TEST(NegotiationClaimer, CollectsFromSeveralAndReportsShortfall) {
  Claimer claimer(kAlice);
  ClaimEffects fx;
  const std::vector<CapabilityRecord> records = {Provider(1, 1, 16, 6), Provider(2, 2, 16, 8)};
  claimer.Claim(0, {"role:web", 0}, 20, records, &fx);
  std::vector<double> asked;
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(fx.send.size(), 1u);
    const ClaimRequest r = fx.send[0];
    asked.push_back(r.amount);
    fx.Clear();
    claimer.OnReply(1, Answer(r, true, r.amount), &fx);
  }
  EXPECT_EQ(asked, (std::vector<double>{8, 6}));
  ASSERT_EQ(fx.done.size(), 1u);
  EXPECT_FALSE(fx.done[0].ok);
  EXPECT_EQ(fx.done[0].granted, 14);
  EXPECT_EQ(fx.done[0].grants.size(), 2u) << "kept for the caller to use or release";

  fx.Clear();
  claimer.Claim(2, {"cpu:4+", 0}, 0, records, &fx);  // nothing needed
  ASSERT_EQ(fx.done.size(), 1u);
  EXPECT_TRUE(fx.done[0].ok);
  EXPECT_TRUE(fx.send.empty());
  fx.Clear();
  claimer.Claim(2, {"cpu:4+", 0}, 5, {}, &fx);  // no candidates
  ASSERT_EQ(fx.done.size(), 1u);
  EXPECT_FALSE(fx.done[0].ok);
}

TEST(NegotiationClaimer, IgnoresRepliesThatAreNotItsOwn) {
  Claimer claimer(kAlice);
  ClaimEffects fx;
  claimer.Claim(0, {"cpu:4+", 0}, 4, {Provider(1, 1, 16, 8)}, &fx);
  const ClaimRequest r = fx.send[0];
  fx.Clear();
  ClaimReply wrong = Answer(r, true, 4);
  wrong.provider = kBob;
  claimer.OnReply(1, wrong, &fx);
  wrong = Answer(r, true, 4);
  wrong.offer += 1;
  claimer.OnReply(1, wrong, &fx);
  wrong = Answer(r, true, 4);
  wrong.claim += 5;
  claimer.OnReply(1, wrong, &fx);
  wrong = Answer(r, true, 4);
  wrong.claimer = kBob;
  claimer.OnReply(1, wrong, &fx);
  EXPECT_TRUE(fx.done.empty());
  claimer.OnReply(1, Answer(r, true, 400), &fx);
  ASSERT_EQ(fx.done.size(), 1u);
  EXPECT_EQ(fx.done[0].granted, 4) << "never counts more than it asked for";
}

// Many claimers race over several providers' offers through a network with
// latency, jitter and optionally loss; messages go through the wire encoding.
struct RaceOutcome {
  std::map<std::pair<Address, std::string>, double> offered;  // provider, resource
  std::map<std::pair<Address, std::string>, double> granted;  // as the providers saw it
  double claimer_granted = 0;                                 // as the claimers saw it
  int lost_races = 0;  // kAlreadyGranted replies: claimers really collided
  int operations_done = 0;
  int operations = 0;
};

RaceOutcome Race(std::uint64_t seed, double loss) {
  constexpr int kProviders = 6, kClaimers = 40;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  RaceOutcome outcome;

  std::vector<OfferBook> books;
  std::vector<CapabilityRecord> records;
  for (Address a = 0; a < kProviders; ++a) {
    books.emplace_back(Contact{HashKey("p" + std::to_string(a)), a});
    CapabilityRecord r = Provider(books.back().self().id, a, 32, 1 + static_cast<int>(rng() % 16));
    r.spare_memory_gb = 1 + static_cast<int>(rng() % 64);
    r.offers = books.back().Advertise(0, r, 300);
    for (const OfferAd& o : r.offers) outcome.offered[{a, o.resource}] += o.amount;
    // Records travel through the DHT encoded.
    records.push_back(*DecodeCapabilityRecord(EncodeCapabilityRecord(r)));
  }
  std::vector<Claimer> claimers;
  for (Address a = 0; a < kClaimers; ++a) {
    claimers.emplace_back(Contact{HashKey("c" + std::to_string(a)), 100 + a});
  }

  struct Event {
    Seconds at;
    std::uint64_t seq;
    Address to;
    std::variant<Message, std::uint64_t> what;  // a message or a timer token
    bool operator>(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
  std::uint64_t seq = 0;
  auto send = [&](Seconds now, Message m) {
    if (uniform(rng) < loss) return;
    const Address to = m.to;
    queue.push(Event{now + 0.05 + 0.5 * uniform(rng), seq++, to, std::move(m)});
  };
  auto apply = [&](Seconds now, Address at, ClaimEffects& fx) {
    for (const ClaimRequest& r : fx.send) send(now, ToMessage(r));
    for (const TimerRequest& t : fx.timers) queue.push(Event{t.at, seq++, at, t.token});
    for (const ClaimResult& r : fx.done) {
      ++outcome.operations_done;
      outcome.claimer_granted += r.granted;
    }
    for (const Grant& g : fx.late) outcome.claimer_granted += g.amount;
    fx.Clear();
  };

  // Everyone starts in the same instant, from the same query results.
  ClaimEffects fx;
  for (Claimer& c : claimers) {
    const bool wants_memory = rng() % 3 == 0;  // some want memory, most want cores
    const CapacityQuery q = wants_memory ? CapacityQuery{"mem:1G+", 1} : CapacityQuery{"cpu:8+", 1};
    c.Claim(0, q, 1 + static_cast<int>(rng() % 10), records, &fx);
    ++outcome.operations;
    apply(0, c.self().address, fx);
  }
  while (!queue.empty()) {
    Event e = queue.top();
    queue.pop();
    if (e.to < kProviders) {
      const Message& m = std::get<Message>(e.what);
      auto request = DecodeClaimRequest(m);
      EXPECT_TRUE(request.ok()) << request.status();
      send(e.at, ToMessage(books[static_cast<std::size_t>(e.to)].OnClaim(e.at, *request)));
      continue;
    }
    Claimer& c = claimers[static_cast<std::size_t>(e.to - 100)];
    if (const auto* m = std::get_if<Message>(&e.what)) {
      auto reply = DecodeClaimReply(*m);
      EXPECT_TRUE(reply.ok()) << reply.status();
      if (reply->reason == RejectReason::kAlreadyGranted) ++outcome.lost_races;
      c.OnReply(e.at, *reply, &fx);
    } else {
      c.OnTimer(e.at, std::get<std::uint64_t>(e.what), &fx);
    }
    apply(e.at, e.to, fx);
  }

  for (const OfferBook& book : books) {
    std::set<std::uint64_t> offers;
    for (const Grant& g : book.grants()) {
      EXPECT_TRUE(offers.insert(g.offer).second) << "offer " << g.offer << " granted twice";
      outcome.granted[{book.self().address, g.resource}] += g.amount;
    }
  }
  return outcome;
}

TEST(NegotiationRace, ManyClaimersNeverGetMoreThanWasOffered) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RaceOutcome o = Race(seed, /*loss=*/0);
    EXPECT_EQ(o.operations_done, o.operations) << "every claim operation completes";
    double granted = 0, offered = 0;
    for (const auto& [what, amount] : o.granted) {
      EXPECT_LE(amount, o.offered.at(what) + 1e-9)
          << "provider " << what.first << " over-granted " << what.second;
      granted += amount;
    }
    for (const auto& [what, amount] : o.offered) offered += amount;
    EXPECT_GT(granted, 0);
    EXPECT_LE(granted, offered + 1e-9);
    EXPECT_GT(o.lost_races, 0) << "the claimers must actually compete";
    // Without loss the two sides agree exactly: nothing granted goes unnoticed.
    EXPECT_NEAR(o.claimer_granted, granted, 1e-9) << "seed " << seed;
  }
}

TEST(NegotiationRace, MessageLossNeverMakesAnOfferGrantedTwice) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const RaceOutcome o = Race(seed, /*loss=*/0.2);
    EXPECT_EQ(o.operations_done, o.operations) << "timeouts end every operation";
    double granted = 0;
    for (const auto& [what, amount] : o.granted) {
      EXPECT_LE(amount, o.offered.at(what) + 1e-9);
      granted += amount;
    }
    // A grant whose accepts were all lost is known only to the provider.
    EXPECT_LE(o.claimer_granted, granted + 1e-9) << "seed " << seed;
  }
}

// --- Negotiation messages on the wire ---------------------------------------

TEST(NegotiationWire, RoundTripsThroughDhtMessages) {
  const ClaimRequest request{42, 7, "gpu:h100", kAlice, kProvider, 1.5};
  const Message m = ToMessage(request);
  EXPECT_TRUE(IsNegotiationMessage(m));
  EXPECT_EQ(m.kind, kClaimRequestKind);
  EXPECT_EQ(m.to, kProvider.address);
  EXPECT_EQ(m.from, kAlice);
  EXPECT_EQ(m.rpc, 42u);
  auto back = DecodeClaimRequest(m);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, request);

  const ClaimReply reply{42,
                         7,
                         kAlice,
                         kProvider,
                         false,
                         1,
                         RejectReason::kExceedsOffer,
                         "asks 1.5 gpu:h100, offer 7 has 1"};
  const Message rm = ToMessage(reply);
  EXPECT_EQ(rm.to, kAlice.address);
  auto reply_back = DecodeClaimReply(rm);
  ASSERT_TRUE(reply_back.ok()) << reply_back.status();
  EXPECT_EQ(*reply_back, reply);

  Message chord;
  chord.kind = 3;
  EXPECT_FALSE(IsNegotiationMessage(chord));
}

TEST(NegotiationWire, CorruptMessagesAreErrorsNamingTheField) {
  const Message good = ToMessage(ClaimRequest{42, 7, "cores", kAlice, kProvider, 2});
  const std::string body = good.values[0].data;
  for (std::size_t n = 0; n < body.size(); ++n) {
    Message m = good;
    m.values[0].data.resize(n);
    auto r = DecodeClaimRequest(m);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_THAT(ErrorText(r.status()), HasSubstr("claim request: field '"));
  }
  Message m = good;
  m.values[0].data += "!";
  EXPECT_THAT(ErrorText(DecodeClaimRequest(m).status()), HasSubstr("unexpected bytes"));
  EXPECT_THAT(ErrorText(DecodeClaimReply(good).status()), HasSubstr("field 'kind'"));
  m = good;
  m.values.clear();
  EXPECT_THAT(ErrorText(DecodeClaimRequest(m).status()), HasSubstr("field 'values'"));
  m = good;
  m.rpc = 43;
  EXPECT_THAT(ErrorText(DecodeClaimRequest(m).status()), HasSubstr("field 'claim'"));
  m = good;
  m.values[0].data[3] = 9;
  EXPECT_THAT(ErrorText(DecodeClaimRequest(m).status()), HasSubstr("field 'version'"));

  // An accept that names a reason, or an unknown reason, is refused.
  ClaimReply contradiction{1, 7, kAlice, kProvider, true, 1, RejectReason::kExpired, ""};
  EXPECT_THAT(ErrorText(DecodeClaimReply(ToMessage(contradiction)).status()),
              HasSubstr("field 'reason'"));
  Message unknown_reason =
      ToMessage(ClaimReply{1, 7, kAlice, kProvider, false, 0, RejectReason::kExpired, ""});
  unknown_reason.values[0].data[4 + 8 + 8 + 12 + 12 + 1 + 8] = 99;  // the reason byte
  EXPECT_THAT(ErrorText(DecodeClaimReply(unknown_reason).status()),
              HasSubstr("field 'reason': 99"));

  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    Message g = i % 2 ? good : ToMessage(contradiction);
    std::string& data = g.values[0].data;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      data[rng() % data.size()] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 2) data.resize(rng() % (data.size() + 1));
    (void)DecodeClaimRequest(g);  // must not crash, whatever it says
    (void)DecodeClaimReply(g);
  }
}

}  // namespace
}  // namespace meshtwin::dht
