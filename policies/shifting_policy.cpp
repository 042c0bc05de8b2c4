#include "policies/shifting_policy.h"
