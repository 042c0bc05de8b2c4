#include "twin/dht/dht.h"

namespace meshtwin::dht {
std::unique_ptr<Node> MakeKademliaNode(Contact, const KademliaOptions&) { return nullptr; }
}  // namespace meshtwin::dht
