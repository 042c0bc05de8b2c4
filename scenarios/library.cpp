#include "scenarios/library.h"
