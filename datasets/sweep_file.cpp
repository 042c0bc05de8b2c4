#include "datasets/sweep_file.h"
