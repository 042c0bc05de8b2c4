#include "policies/composite_policy.h"
