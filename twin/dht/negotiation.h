// Negotiating capacity found through capability records: whoever needs
// capacity (a node or the manager) claims part of an offer a provider
// advertised in its record; the provider accepts, and the offer is consumed
// (granted at most once, whatever the number of concurrent claimers), or
// rejects with a reason, and the claimer tries the next candidate.
// Sans-I/O like the DHT: calls take the current time, replies and effects come
// back as values, a transport carries them (ToMessage / Decode* wrap them in
// dht::Message so the DHT's transports carry them too).
//
//   Provider:  OfferBook book(self);
//              record.offers = book.Advertise(now, record, publisher.options().ttl);
//              ... on a ClaimRequest:  send(book.OnClaim(now, request));
//   Claimer:   Claimer claimer(self);
//              ClaimEffects fx;
//              claimer.Claim(now, {"gpu:h100", 1}, 4, decoded_records, &fx);
//              ... fx.send (requests), fx.timers; later OnReply / OnTimer;
//              fx.done: {op, ok, granted, grants}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "twin/dht/capability.h"
#include "twin/dht/dht.h"
#include "twin/status.h"

namespace meshtwin::dht {

enum class RejectReason : std::uint8_t {
  kNone = 0,        // accepted
  kUnknownOffer,    // never opened here, or forgotten long ago
  kAlreadyGranted,  // to another claim
  kWithdrawn,       // the provider took it back (re-advertised without it)
  kExpired,
  kWrongResource,  // the claim names another resource than the offer's
  kExceedsOffer,   // asks more than the offer holds (reply.amount: what it holds)
  kBadAmount,      // not a finite number > 0
};
const char* ToString(RejectReason reason);

// Claimer -> provider: "grant me `amount` of offer `offer`".
struct ClaimRequest {
  std::uint64_t claim = 0;  // the claimer's id for it; the reply echoes it
  std::uint64_t offer = 0;
  std::string resource;  // the offer's resource, as advertised (a guard against stale ids)
  Contact claimer;
  Contact provider;
  double amount = 0;  // in the resource's unit
  friend bool operator==(const ClaimRequest&, const ClaimRequest&) = default;
};

// Provider -> claimer.
struct ClaimReply {
  std::uint64_t claim = 0;
  std::uint64_t offer = 0;
  Contact claimer;
  Contact provider;
  bool accepted = false;
  double amount = 0;  // accepted: granted; kExceedsOffer: what the offer holds; else 0
  RejectReason reason = RejectReason::kNone;
  std::string detail;  // for people: "offer 7 already granted to claim 3 of node ..."
  friend bool operator==(const ClaimReply&, const ClaimReply&) = default;
};

// Capacity that changed hands.
struct Grant {
  Contact provider;
  Contact claimer;
  std::uint64_t offer = 0;
  std::string resource;
  std::uint64_t claim = 0;
  double amount = 0;
  Seconds at = 0;  // provider: when accepted; claimer: when the accept arrived
  friend bool operator==(const Grant&, const Grant&) = default;
};

struct OfferBookOptions {
  // After a partial grant, open the rest as a new offer (new id, same expiry)
  // instead of leaving it unoffered until the next Advertise.
  bool reoffer_remainder = true;
  // The first offer id. A node that restarts should start past its previous
  // life's ids (e.g. from the time) so records still in the DHT don't name
  // its new offers; ClaimRequest::resource is a second guard.
  std::uint64_t first_offer_id = 1;
};

// A provider's open offers: at most one per resource ("cores", "memory_gb",
// "gpu:<model>"), each granted at most once. Calls are serialised by the
// caller (a node handles one message at a time), which is what makes "at
// most once" hold under concurrent claimers: the first claim processed wins.
// Not thread-safe.
class OfferBook {
 public:
  explicit OfferBook(Contact self, OfferBookOptions options = {});

  // Offers the record's spare capacity until now + lifetime (pass the
  // publisher's TTL so offers outlive the records that carry them): one
  // offer per resource with spare > 0. An open offer of the same resource
  // keeps its id (claims in flight stay valid) with the new amount and
  // expiry; offers of resources no longer spare are withdrawn. Returns the
  // open offers, to store in record.offers before publishing. The record's
  // spare must already exclude what was granted (grants()).
  std::vector<OfferAd> Advertise(Seconds now, const CapabilityRecord& record, Seconds lifetime);

  // Accepts when the offer is open, unexpired, of the named resource, and
  // the amount (> 0) fits; the offer is then consumed. A repeated request of
  // an accepted claim (same claimer and claim id: a retransmission) gets the
  // same accept again, without a second grant.
  ClaimReply OnClaim(Seconds now, const ClaimRequest& request);

  // Takes an open offer back; false if it was not open.
  bool Withdraw(std::uint64_t offer);
  void WithdrawAll();

  // Open, unexpired offers, by id.
  std::vector<OfferAd> OpenOffers(Seconds now) const;
  // Every grant made, in order.
  const std::vector<Grant>& grants() const { return grants_; }
  Contact self() const { return self_; }

 private:
  enum class State : std::uint8_t { kOpen, kGranted, kWithdrawn };
  struct Offer {
    OfferAd ad;
    State state = State::kOpen;
    std::size_t grant = 0;  // kGranted: index into grants_
  };
  std::uint64_t Open(const std::string& resource, double amount, Seconds expires);

  Contact self_;
  OfferBookOptions options_;
  std::uint64_t next_id_;
  std::map<std::uint64_t, Offer> offers_;
  std::vector<Grant> grants_;
};

// An offer a claimer may claim, from a decoded record.
struct ClaimCandidate {
  Contact provider;
  OfferAd offer;
  double available = 0;  // min(the record's spare in the query's unit, the offer's amount)
};

// The candidates for `query` among `records`, best first: records that
// Match the query and carry an open unexpired offer of the query's resource
// with at least query.min_spare available; most available first, ties by
// node id, then offer id. One per node (its most recently published record);
// `exclude` (the claimer itself) is left out.
std::vector<ClaimCandidate> RankCandidates(Seconds now, const CapacityQuery& query,
                                           const std::vector<CapabilityRecord>& records,
                                           Key exclude);

struct ClaimerOptions {
  Seconds reply_timeout = 2;  // a claim unanswered this long is sent again or given up
  int attempts = 2;           // sends of one claim (same claim id) before the next candidate
  Seconds late_window = 60;   // how long a given-up claim's late accept is still recognised
};

// How a claim operation ended.
struct ClaimResult {
  std::uint64_t op = 0;
  bool ok = false;  // granted >= needed
  CapacityQuery query;
  double needed = 0;
  // Normally <= needed; more only when an accept thought lost arrived late
  // while the next claim was already out.
  double granted = 0;
  std::vector<Grant> grants;  // kept even when !ok: the caller uses or releases them
  int claims_sent = 0;        // requests sent, retransmissions included
  Seconds started = 0;
  Seconds finished = 0;
};

// What a Claimer call wants done. The caller clears it; the claimer appends.
struct ClaimEffects {
  std::vector<ClaimRequest> send;    // to request.provider.address
  std::vector<TimerRequest> timers;  // OnTimer(now, token) at or after `at`
  std::vector<ClaimResult> done;
  // Accepts that arrived after their operation had finished: the capacity is
  // the claimer's; use it or release it.
  std::vector<Grant> late;
  void Clear() {
    send.clear();
    timers.clear();
    done.clear();
    late.clear();
  }
};

// The claiming side: one per node (or manager); many operations at once.
// Each operation claims from its candidates one at a time, best first, asking
// each for what is still needed (up to what it offers), until the need is
// granted or the candidates run out. One claim at a time per operation, so an
// operation never holds more than it asked for (save a late accept). Timer
// tokens are the claimer's own: a transport sharing a timer queue with a DHT
// node must route them apart. Deterministic. Not thread-safe.
class Claimer {
 public:
  explicit Claimer(Contact self, ClaimerOptions options = {});

  // Starts claiming `needed` (in the query's unit) from `records` (decoded
  // query results). Returns the operation id its ClaimResult carries; a need
  // <= 0 completes at once, a non-finite one fails at once.
  std::uint64_t Claim(Seconds now, const CapacityQuery& query, double needed,
                      const std::vector<CapabilityRecord>& records, ClaimEffects* out);
  void OnReply(Seconds now, const ClaimReply& reply, ClaimEffects* out);
  void OnTimer(Seconds now, std::uint64_t token, ClaimEffects* out);

  std::size_t running() const { return ops_.size(); }
  Contact self() const { return self_; }

 private:
  struct Operation {
    ClaimResult result;
    std::vector<ClaimCandidate> candidates;
    std::size_t next = 0;  // the next candidate to try
  };
  struct Outstanding {
    std::uint64_t op = 0;
    ClaimRequest request;
    int sends = 0;
    std::uint64_t token = 0;  // the timer of the latest send
  };
  struct GivenUp {
    std::uint64_t op = 0;
    ClaimRequest request;
    Seconds at = 0;
  };

  void Advance(Seconds now, Operation& op, ClaimEffects* out);
  void Send(Seconds now, std::uint64_t claim, Outstanding& o, ClaimEffects* out);
  void Finish(Seconds now, std::uint64_t op_id, ClaimEffects* out);
  static Grant ToGrant(Seconds now, const ClaimRequest& request, const ClaimReply& reply);

  Contact self_;
  ClaimerOptions options_;
  std::uint64_t next_op_ = 1;
  std::uint64_t next_claim_ = 1;
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, Operation> ops_;            // by op id
  std::map<std::uint64_t, Outstanding> outstanding_;  // by claim id
  std::map<std::uint64_t, std::uint64_t> timers_;     // token -> claim id
  std::map<std::uint64_t, GivenUp> given_up_;         // by claim id
};

// --- On the wire ---------------------------------------------------------
// Negotiation rides in dht::Message so the DHT's transports carry it: kinds
// 0xC0-0xCF are reserved for it (protocol cores keep theirs below 0xC0).
// Header: from = the sender, to = the receiver's address, rpc = claim id,
// target = offer id; the whole message, versioned, is values[0].data (the
// body is authoritative; the header is for routing and traces).
inline constexpr std::uint8_t kNegotiationKindFirst = 0xC0;
inline constexpr std::uint8_t kNegotiationKindLast = 0xCF;
inline constexpr std::uint8_t kClaimRequestKind = 0xC0;
inline constexpr std::uint8_t kClaimReplyKind = 0xC1;

inline bool IsNegotiationMessage(const Message& m) {
  return m.kind >= kNegotiationKindFirst && m.kind <= kNegotiationKindLast;
}
Message ToMessage(const ClaimRequest& request);
Message ToMessage(const ClaimReply& reply);
// Untrusted input: a wrong kind, missing body, truncation or a bad value is
// an InvalidArgumentError naming the field, never a crash.
absl::StatusOr<ClaimRequest> DecodeClaimRequest(const Message& m);
absl::StatusOr<ClaimReply> DecodeClaimReply(const Message& m);

}  // namespace meshtwin::dht
