#include "twin/dht/dht.h"

namespace meshtwin::dht {

Key HashKey(std::string_view text) {
  // FNV-1a over the bytes, then SplitMix64's finaliser to spread the bits
  // over the whole ring (FNV alone leaves short names clustered).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::size_t Message::WireSize() const {
  // A fixed header (kind, ids, addresses, rpc, target, hops, origin) plus
  // 12 bytes per contact and each value's key, publisher, expiry and data.
  std::size_t size = 64 + 12 * contacts.size();
  for (const StoredValue& v : values) size += 24 + v.data.size();
  return size;
}

}  // namespace meshtwin::dht
