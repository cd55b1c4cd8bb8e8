#include "common/malloc_tuning.h"

#include <malloc.h>

namespace gantry {

void LimitMallocArenas() { mallopt(M_ARENA_MAX, 2); }

void ReleaseFreeMemory() { malloc_trim(0); }

}  // namespace gantry
