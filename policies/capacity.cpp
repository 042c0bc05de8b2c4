#include "policies/capacity.h"
