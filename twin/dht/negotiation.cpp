#include "twin/dht/dht.h"
