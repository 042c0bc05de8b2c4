#include "policies/predictive_policy.h"
