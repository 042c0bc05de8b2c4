#include "policies/role_policy.h"
