#include "apps/child_runs.h"
