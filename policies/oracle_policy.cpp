#include "policies/oracle_policy.h"
