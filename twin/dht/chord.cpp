#include "twin/dht/dht.h"

namespace meshtwin::dht {
std::unique_ptr<Node> MakeChordNode(Contact, const ChordOptions&) { return nullptr; }
}  // namespace meshtwin::dht
