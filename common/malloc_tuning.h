// Keeping a long-running daemon's heap small: glibc gives each thread that
// allocates an arena of its own (up to 8 per core) and keeps freed memory in
// them; a daemon whose threads come and go with requests ends up holding
// tens of megabytes it no longer uses.
#pragma once

namespace gantry {

// Few arenas (call first thing in main, before threads start).
void LimitMallocArenas();

// Hands freed heap memory back to the kernel (after a burst of work ends).
void ReleaseFreeMemory();

}  // namespace gantry
