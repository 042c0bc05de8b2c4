#include "policies/admission_policy.h"
