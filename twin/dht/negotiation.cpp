#include "twin/dht/negotiation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace meshtwin::dht {
namespace {

// Amounts are doubles: "granted everything needed" tolerates rounding.
bool Covers(double granted, double needed) {
  return granted >= needed - 1e-9 * std::max(1.0, std::abs(needed));
}

std::string NodeText(const Contact& c) { return absl::StrCat(c.id, "@", c.address); }

}  // namespace

const char* ToString(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "none";
    case RejectReason::kUnknownOffer:
      return "unknown offer";
    case RejectReason::kAlreadyGranted:
      return "already granted";
    case RejectReason::kWithdrawn:
      return "withdrawn";
    case RejectReason::kExpired:
      return "expired";
    case RejectReason::kWrongResource:
      return "wrong resource";
    case RejectReason::kExceedsOffer:
      return "exceeds offer";
    case RejectReason::kBadAmount:
      return "bad amount";
  }
  return "?";
}

// --- OfferBook -------------------------------------------------------------

OfferBook::OfferBook(Contact self, OfferBookOptions options)
    : self_(self),
      options_(options),
      next_id_(std::max<std::uint64_t>(options.first_offer_id, 1)) {}

std::uint64_t OfferBook::Open(const std::string& resource, double amount, Seconds expires) {
  const std::uint64_t id = next_id_++;
  offers_.emplace(id, Offer{OfferAd{id, resource, amount, expires}, State::kOpen, 0});
  return id;
}

std::vector<OfferAd> OfferBook::Advertise(Seconds now, const CapabilityRecord& record,
                                          Seconds lifetime) {
  // What is spare, per resource, in a fixed order (cores, memory, GPUs by model).
  std::vector<std::pair<std::string, double>> spare;
  auto add = [&](std::string resource, double amount) {
    if (std::isfinite(amount) && amount > 0) spare.emplace_back(std::move(resource), amount);
  };
  add("cores", record.spare_cores);
  add("memory_gb", record.spare_memory_gb);
  for (const auto& [model, count] : record.spare_gpus) add("gpu:" + model, count);

  const Seconds expires = now + lifetime;
  std::map<std::string, Offer*> open;  // by resource
  for (auto it = offers_.begin(); it != offers_.end();) {
    Offer& o = it->second;
    if (o.state == State::kOpen) {
      open[o.ad.resource] = &o;
      ++it;
    } else if (o.ad.expires < now) {
      // Closed and past its expiry: only a reply to a very late
      // retransmission needs it, and kUnknownOffer serves that as well.
      it = offers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [resource, offer] : open) {
    const bool still_spare =
        std::any_of(spare.begin(), spare.end(), [&](const auto& s) { return s.first == resource; });
    if (!still_spare) offer->state = State::kWithdrawn;
  }
  for (const auto& [resource, amount] : spare) {
    auto it = open.find(resource);
    if (it != open.end()) {
      it->second->ad.amount = amount;
      it->second->ad.expires = expires;
    } else {
      Open(resource, amount, expires);
    }
  }
  return OpenOffers(now);
}

ClaimReply OfferBook::OnClaim(Seconds now, const ClaimRequest& request) {
  ClaimReply reply;
  reply.claim = request.claim;
  reply.offer = request.offer;
  reply.claimer = request.claimer;
  reply.provider = self_;
  auto reject = [&](RejectReason reason, std::string detail, double amount = 0) {
    reply.accepted = false;
    reply.reason = reason;
    reply.amount = amount;
    reply.detail = std::move(detail);
    return reply;
  };

  auto it = offers_.find(request.offer);
  if (it == offers_.end()) {
    return reject(RejectReason::kUnknownOffer,
                  absl::StrCat("offer ", request.offer, " is not known at node ", NodeText(self_)));
  }
  Offer& offer = it->second;
  if (offer.state == State::kGranted) {
    const Grant& g = grants_[offer.grant];
    if (g.claimer.id == request.claimer.id && g.claim == request.claim) {
      // A retransmission of the claim that won: same answer, no second grant.
      reply.accepted = true;
      reply.amount = g.amount;
      reply.detail = "granted (repeated request)";
      return reply;
    }
    return reject(RejectReason::kAlreadyGranted,
                  absl::StrCat("offer ", request.offer, " already granted to claim ", g.claim,
                               " of node ", NodeText(g.claimer)));
  }
  if (offer.state == State::kWithdrawn) {
    return reject(RejectReason::kWithdrawn, absl::StrCat("offer ", request.offer, " withdrawn"));
  }
  if (request.resource != offer.ad.resource) {
    return reject(RejectReason::kWrongResource,
                  absl::StrCat("offer ", request.offer, " is of ", offer.ad.resource, ", not ",
                               request.resource));
  }
  if (!std::isfinite(request.amount) || request.amount <= 0) {
    return reject(RejectReason::kBadAmount,
                  absl::StrCat("amount ", request.amount, " is not a number > 0"));
  }
  if (now >= offer.ad.expires) {
    return reject(RejectReason::kExpired,
                  absl::StrCat("offer ", request.offer, " expired at ", offer.ad.expires));
  }
  if (request.amount > offer.ad.amount) {
    return reject(RejectReason::kExceedsOffer,
                  absl::StrCat("asks ", request.amount, " ", offer.ad.resource, ", offer ",
                               request.offer, " has ", offer.ad.amount),
                  offer.ad.amount);
  }

  offer.state = State::kGranted;
  offer.grant = grants_.size();
  grants_.push_back(Grant{self_, request.claimer, request.offer, offer.ad.resource, request.claim,
                          request.amount, now});
  const double rest = offer.ad.amount - request.amount;
  if (options_.reoffer_remainder && !Covers(request.amount, offer.ad.amount)) {
    // `offer` stays valid: std::map insertions move nothing.
    Open(offer.ad.resource, rest, offer.ad.expires);
  }
  reply.accepted = true;
  reply.amount = request.amount;
  reply.detail = "granted";
  return reply;
}

bool OfferBook::Withdraw(std::uint64_t offer) {
  auto it = offers_.find(offer);
  if (it == offers_.end() || it->second.state != State::kOpen) return false;
  it->second.state = State::kWithdrawn;
  return true;
}

void OfferBook::WithdrawAll() {
  for (auto& [id, offer] : offers_) {
    if (offer.state == State::kOpen) offer.state = State::kWithdrawn;
  }
}

std::vector<OfferAd> OfferBook::OpenOffers(Seconds now) const {
  std::vector<OfferAd> out;
  for (const auto& [id, offer] : offers_) {
    if (offer.state == State::kOpen && now < offer.ad.expires) out.push_back(offer.ad);
  }
  return out;
}

// --- Claimer ---------------------------------------------------------------

std::vector<ClaimCandidate> RankCandidates(Seconds now, const CapacityQuery& query,
                                           const std::vector<CapabilityRecord>& records,
                                           Key exclude) {
  const std::string resource = ResourceOf(query.capability_class);
  if (resource.empty()) return {};
  // One record per node: the same node comes back from several keys or Gets,
  // possibly in an older version.
  std::map<Key, const CapabilityRecord*> latest;
  for (const CapabilityRecord& r : records) {
    if (r.node == exclude || r.address < 0) continue;
    auto [it, inserted] = latest.emplace(r.node, &r);
    if (!inserted && r.published > it->second->published) it->second = &r;
  }
  std::vector<ClaimCandidate> out;
  for (const auto& [node, record] : latest) {
    const std::optional<double> spare = SpareFor(*record, query.capability_class);
    if (!spare) continue;
    const OfferAd* best = nullptr;
    for (const OfferAd& ad : record->offers) {
      if (ad.resource == resource && now < ad.expires && ad.amount > 0 &&
          (best == nullptr || ad.amount > best->amount)) {
        best = &ad;
      }
    }
    if (best == nullptr) continue;
    const double available = std::min(*spare, best->amount);
    if (available > 0 && available >= query.min_spare) {
      out.push_back(ClaimCandidate{Contact{record->node, record->address}, *best, available});
    }
  }
  std::sort(out.begin(), out.end(), [](const ClaimCandidate& a, const ClaimCandidate& b) {
    if (a.available != b.available) return a.available > b.available;
    if (a.provider.id != b.provider.id) return a.provider.id < b.provider.id;
    return a.offer.id < b.offer.id;
  });
  return out;
}

Claimer::Claimer(Contact self, ClaimerOptions options) : self_(self), options_(options) {}

std::uint64_t Claimer::Claim(Seconds now, const CapacityQuery& query, double needed,
                             const std::vector<CapabilityRecord>& records, ClaimEffects* out) {
  const std::uint64_t id = next_op_++;
  Operation op;
  op.result.op = id;
  op.result.query = query;
  op.result.needed = needed;
  op.result.started = now;
  op.result.finished = now;
  if (!std::isfinite(needed)) {
    out->done.push_back(std::move(op.result));
    return id;
  }
  op.candidates = RankCandidates(now, query, records, self_.id);
  Operation& running = ops_.emplace(id, std::move(op)).first->second;
  Advance(now, running, out);
  return id;
}

void Claimer::Advance(Seconds now, Operation& op, ClaimEffects* out) {
  const double remaining = op.result.needed - op.result.granted;
  if (!Covers(op.result.granted, op.result.needed)) {
    while (op.next < op.candidates.size()) {
      const ClaimCandidate& c = op.candidates[op.next++];
      const double amount = std::min(remaining, c.available);
      if (!(amount > 0)) continue;
      const std::uint64_t claim = next_claim_++;
      Outstanding o;
      o.op = op.result.op;
      o.request = ClaimRequest{claim, c.offer.id, c.offer.resource, self_, c.provider, amount};
      Send(now, claim, outstanding_.emplace(claim, std::move(o)).first->second, out);
      return;
    }
  }
  Finish(now, op.result.op, out);
}

void Claimer::Send(Seconds now, std::uint64_t claim, Outstanding& o, ClaimEffects* out) {
  ++o.sends;
  o.token = next_token_++;
  timers_[o.token] = claim;
  out->send.push_back(o.request);
  out->timers.push_back(TimerRequest{now + options_.reply_timeout, o.token});
  ++ops_.at(o.op).result.claims_sent;
}

void Claimer::Finish(Seconds now, std::uint64_t op_id, ClaimEffects* out) {
  auto it = ops_.find(op_id);
  ClaimResult result = std::move(it->second.result);
  ops_.erase(it);
  result.ok = Covers(result.granted, result.needed);
  result.finished = now;
  out->done.push_back(std::move(result));
}

Grant Claimer::ToGrant(Seconds now, const ClaimRequest& request, const ClaimReply& reply) {
  // Never count more than was asked, whatever the reply says.
  return Grant{request.provider,
               request.claimer,
               request.offer,
               request.resource,
               request.claim,
               std::min(request.amount, reply.amount),
               now};
}

void Claimer::OnReply(Seconds now, const ClaimReply& reply, ClaimEffects* out) {
  auto is_reply_to = [&](const ClaimRequest& request) {
    return reply.offer == request.offer && reply.provider.id == request.provider.id &&
           reply.claimer.id == self_.id;
  };
  if (auto it = outstanding_.find(reply.claim); it != outstanding_.end()) {
    if (!is_reply_to(it->second.request)) return;
    const std::uint64_t op_id = it->second.op;
    const ClaimRequest request = std::move(it->second.request);
    timers_.erase(it->second.token);
    outstanding_.erase(it);
    Operation& op = ops_.at(op_id);
    if (reply.accepted) {
      op.result.grants.push_back(ToGrant(now, request, reply));
      op.result.granted += op.result.grants.back().amount;
    }
    Advance(now, op, out);
    return;
  }
  // An answer to a claim given up on (its reply was slow, not lost), or a
  // duplicate (ignored: the claim is no longer in either map).
  auto it = given_up_.find(reply.claim);
  if (it == given_up_.end() || !is_reply_to(it->second.request)) return;
  const GivenUp given_up = std::move(it->second);
  given_up_.erase(it);
  if (!reply.accepted) return;
  const Grant grant = ToGrant(now, given_up.request, reply);
  if (auto op = ops_.find(given_up.op); op != ops_.end()) {
    // Still running (with another claim out): the capacity counts toward it.
    op->second.result.grants.push_back(grant);
    op->second.result.granted += grant.amount;
  } else {
    out->late.push_back(grant);
  }
}

void Claimer::OnTimer(Seconds now, std::uint64_t token, ClaimEffects* out) {
  for (auto it = given_up_.begin(); it != given_up_.end();) {
    it = it->second.at + options_.late_window < now ? given_up_.erase(it) : std::next(it);
  }
  auto timer = timers_.find(token);
  if (timer == timers_.end()) return;  // answered meanwhile
  const std::uint64_t claim = timer->second;
  timers_.erase(timer);
  auto it = outstanding_.find(claim);
  if (it == outstanding_.end() || it->second.token != token) return;
  Outstanding& o = it->second;
  if (o.sends < options_.attempts) {
    Send(now, claim, o, out);  // same claim id: the provider answers a repeat the same way
    return;
  }
  const std::uint64_t op_id = o.op;
  given_up_[claim] = GivenUp{op_id, std::move(o.request), now};
  outstanding_.erase(it);
  Advance(now, ops_.at(op_id), out);
}

// --- On the wire -----------------------------------------------------------

namespace {

constexpr std::string_view kWireMagic = "MTN";
constexpr std::uint8_t kWireVersion = 1;
constexpr std::size_t kMaxBody = 64 * 1024;

class BodyWriter {
 public:
  BodyWriter() {
    out_.append(kWireMagic);
    U8(kWireVersion);
  }
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void I32(std::int32_t v) {
    const auto u = static_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  void F64(double v) { U64(std::bit_cast<std::uint64_t>(v)); }
  void Str(std::string_view s) {
    const std::string_view clipped = s.substr(0, 0xffff);  // a reason, a resource name: short
    U8(static_cast<std::uint8_t>(clipped.size() & 0xff));
    U8(static_cast<std::uint8_t>(clipped.size() >> 8));
    out_.append(clipped);
  }
  void Peer(const Contact& c) {
    U64(c.id);
    I32(c.address);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Bounds-checked reads; errors name the message and the field.
class BodyReader {
 public:
  BodyReader(const char* what, std::string_view data) : what_(what), data_(data) {}

  absl::Status Header() {
    if (data_.size() > kMaxBody) {
      return Error("body", absl::StrCat(data_.size(), " bytes, more than ", kMaxBody));
    }
    if (data_.substr(0, kWireMagic.size()) != kWireMagic) {
      return Error("magic", "not a negotiation message");
    }
    pos_ = kWireMagic.size();
    std::uint8_t version = 0;
    MESHTWIN_RETURN_IF_ERROR(U8("version", &version));
    if (version != kWireVersion) {
      return Error("version", absl::StrCat(version, " is not supported (this build reads ",
                                           kWireVersion, ")"));
    }
    return absl::OkStatus();
  }
  absl::Status U8(const char* field, std::uint8_t* v) {
    MESHTWIN_RETURN_IF_ERROR(Need(field, 1));
    *v = static_cast<std::uint8_t>(data_[pos_++]);
    return absl::OkStatus();
  }
  absl::Status U64(const char* field, std::uint64_t* v) {
    MESHTWIN_RETURN_IF_ERROR(Need(field, 8));
    *v = Little(8);
    return absl::OkStatus();
  }
  absl::Status I32(const char* field, std::int32_t* v) {
    MESHTWIN_RETURN_IF_ERROR(Need(field, 4));
    *v = static_cast<std::int32_t>(static_cast<std::uint32_t>(Little(4)));
    return absl::OkStatus();
  }
  absl::Status F64(const char* field, double* v) {
    std::uint64_t bits = 0;
    MESHTWIN_RETURN_IF_ERROR(U64(field, &bits));
    *v = std::bit_cast<double>(bits);
    return absl::OkStatus();
  }
  absl::Status Str(const char* field, std::string* s) {
    MESHTWIN_RETURN_IF_ERROR(Need(field, 2));
    const std::size_t size = Little(2);
    MESHTWIN_RETURN_IF_ERROR(Need(field, size));
    s->assign(data_.substr(pos_, size));
    pos_ += size;
    return absl::OkStatus();
  }
  absl::Status Peer(const char* field, Contact* c) {
    MESHTWIN_RETURN_IF_ERROR(U64(field, &c->id));
    return I32(field, &c->address);
  }
  absl::Status End() {
    if (pos_ != data_.size()) {
      return Error("body", absl::StrCat(data_.size() - pos_, " unexpected bytes at the end"));
    }
    return absl::OkStatus();
  }
  absl::Status Error(absl::string_view field, absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": field '", field, "': ", problem));
  }

 private:
  absl::Status Need(const char* field, std::size_t n) const {
    if (data_.size() - pos_ < n) {
      return Error(field, absl::StrCat("truncated at byte ", pos_, " of ", data_.size()));
    }
    return absl::OkStatus();
  }
  std::uint64_t Little(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += static_cast<std::size_t>(bytes);
    return v;
  }

  const char* what_;
  std::string_view data_;
  std::size_t pos_ = 0;
};

Message Envelope(std::uint8_t kind, const Contact& from, const Contact& to, std::uint64_t claim,
                 std::uint64_t offer, std::string body) {
  Message m;
  m.kind = kind;
  m.from = from;
  m.to = to.address;
  m.rpc = claim;
  m.target = offer;
  m.values.push_back(StoredValue{offer, from.id, std::move(body), 0});
  return m;
}

// The body of `m` after checking the kind and the header's claim and offer ids.
absl::StatusOr<std::string_view> Body(const char* what, const Message& m, std::uint8_t kind) {
  if (m.kind != kind) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": field 'kind': ", int{m.kind}, " where ", int{kind}, " was expected"));
  }
  if (m.values.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": field 'values': ", m.values.size(),
                                                   " values where the body is exactly 1"));
  }
  return std::string_view(m.values[0].data);
}

absl::Status CheckHeader(const BodyReader& in, const Message& m, std::uint64_t claim,
                         std::uint64_t offer) {
  if (m.rpc != claim) {
    return in.Error("claim", absl::StrCat("body says ", claim, ", header ", m.rpc));
  }
  if (m.target != offer) {
    return in.Error("offer", absl::StrCat("body says ", offer, ", header ", m.target));
  }
  return absl::OkStatus();
}

}  // namespace

Message ToMessage(const ClaimRequest& r) {
  BodyWriter w;
  w.U64(r.claim);
  w.U64(r.offer);
  w.Str(r.resource);
  w.Peer(r.claimer);
  w.Peer(r.provider);
  w.F64(r.amount);
  return Envelope(kClaimRequestKind, r.claimer, r.provider, r.claim, r.offer, w.Take());
}

Message ToMessage(const ClaimReply& r) {
  BodyWriter w;
  w.U64(r.claim);
  w.U64(r.offer);
  w.Peer(r.claimer);
  w.Peer(r.provider);
  w.U8(r.accepted ? 1 : 0);
  w.F64(r.amount);
  w.U8(static_cast<std::uint8_t>(r.reason));
  w.Str(r.detail);
  return Envelope(kClaimReplyKind, r.provider, r.claimer, r.claim, r.offer, w.Take());
}

absl::StatusOr<ClaimRequest> DecodeClaimRequest(const Message& m) {
  constexpr const char* kWhat = "claim request";
  MESHTWIN_ASSIGN_OR_RETURN(const std::string_view body, Body(kWhat, m, kClaimRequestKind));
  BodyReader in(kWhat, body);
  ClaimRequest r;
  MESHTWIN_RETURN_IF_ERROR(in.Header());
  MESHTWIN_RETURN_IF_ERROR(in.U64("claim", &r.claim));
  MESHTWIN_RETURN_IF_ERROR(in.U64("offer", &r.offer));
  MESHTWIN_RETURN_IF_ERROR(in.Str("resource", &r.resource));
  MESHTWIN_RETURN_IF_ERROR(in.Peer("claimer", &r.claimer));
  MESHTWIN_RETURN_IF_ERROR(in.Peer("provider", &r.provider));
  MESHTWIN_RETURN_IF_ERROR(in.F64("amount", &r.amount));
  MESHTWIN_RETURN_IF_ERROR(in.End());
  MESHTWIN_RETURN_IF_ERROR(CheckHeader(in, m, r.claim, r.offer));
  // The amount's value is the provider's to judge (kBadAmount), not a wire error.
  return r;
}

absl::StatusOr<ClaimReply> DecodeClaimReply(const Message& m) {
  constexpr const char* kWhat = "claim reply";
  MESHTWIN_ASSIGN_OR_RETURN(const std::string_view body, Body(kWhat, m, kClaimReplyKind));
  BodyReader in(kWhat, body);
  ClaimReply r;
  std::uint8_t accepted = 0, reason = 0;
  MESHTWIN_RETURN_IF_ERROR(in.Header());
  MESHTWIN_RETURN_IF_ERROR(in.U64("claim", &r.claim));
  MESHTWIN_RETURN_IF_ERROR(in.U64("offer", &r.offer));
  MESHTWIN_RETURN_IF_ERROR(in.Peer("claimer", &r.claimer));
  MESHTWIN_RETURN_IF_ERROR(in.Peer("provider", &r.provider));
  MESHTWIN_RETURN_IF_ERROR(in.U8("accepted", &accepted));
  MESHTWIN_RETURN_IF_ERROR(in.F64("amount", &r.amount));
  MESHTWIN_RETURN_IF_ERROR(in.U8("reason", &reason));
  MESHTWIN_RETURN_IF_ERROR(in.Str("detail", &r.detail));
  MESHTWIN_RETURN_IF_ERROR(in.End());
  MESHTWIN_RETURN_IF_ERROR(CheckHeader(in, m, r.claim, r.offer));
  if (accepted > 1) return in.Error("accepted", absl::StrCat(int{accepted}, " is not 0 or 1"));
  r.accepted = accepted == 1;
  if (reason > static_cast<std::uint8_t>(RejectReason::kBadAmount)) {
    return in.Error("reason", absl::StrCat(int{reason}, " is not a known reason"));
  }
  r.reason = static_cast<RejectReason>(reason);
  if (r.accepted != (r.reason == RejectReason::kNone)) {
    return in.Error("reason",
                    absl::StrCat(ToString(r.reason), " contradicts accepted = ", int{accepted}));
  }
  if (!std::isfinite(r.amount) || r.amount < 0) {
    return in.Error("amount", absl::StrCat(r.amount, " is not a finite number >= 0"));
  }
  return r;
}

}  // namespace meshtwin::dht
